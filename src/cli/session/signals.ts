/** Total time a shutdown may take after a stop signal before it is cut short, ms. */
const SHUTDOWN_BUDGET_MS = 1900;

/**
 * Stop signals that `run` passes on to its command as they are. SIGHUP too:
 * the children run in their own sessions, so a closed terminal reaches them
 * only through us.
 */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Every other signal whose default action would end this process without any
 * cleanup, leaving a supervised command running under pid 1. Each ends us as
 * SIGTERM does, and the command gets SIGTERM: what SIGUSR2 or SIGQUIT mean to
 * a program is its own business, not a stop request. Left out: the fault
 * signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGSYS), which a handler that
 * returns would raise again; SIGKILL and SIGSTOP, which cannot be caught; the
 * real-time signals, which Node.js cannot listen for; and SIGPROF, which V8's
 * CPU profiler (`node --cpu-prof`) sends to its own threads a thousand times
 * a second: a listener of ours would replace its handler, and the first sample
 * would stop the command.
 */
const ENDING: readonly NodeJS.Signals[] = [
  'SIGQUIT',
  'SIGUSR2',
  'SIGABRT',
  'SIGTRAP',
  'SIGALRM',
  'SIGVTALRM',
  'SIGIO',
  'SIGPWR',
  'SIGSTKFLT',
  'SIGXCPU',
  'SIGXFSZ',
];

/** The signals listenForStop takes: the forwarded ones and the ending ones. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = [...FORWARDED, ...ENDING];

export interface StopListener {
  /** Resolves with the first stop signal, as the signal to pass on to a supervised command. */
  readonly requested: Promise<NodeJS.Signals>;
  dispose(): void;
}

/**
 * Turns the stop signals into a promise. A shutdown that overruns its budget,
 * or a second signal, calls `force` (which should kill what is left and exit):
 * a stuck OTLP flush must not keep a Ctrl-C waiting.
 */
export function listenForStop(force: (signal: NodeJS.Signals) => void, budgetMs = SHUTDOWN_BUDGET_MS): StopListener {
  let resolveRequested!: (signal: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((resolve) => {
    resolveRequested = resolve;
  });
  let first: NodeJS.Signals | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (first !== undefined) {
      force(first);
      return;
    }
    first = FORWARDED.includes(signal) ? signal : 'SIGTERM';
    const forced = first;
    timer = setTimeout(() => force(forced), budgetMs);
    timer.unref();
    resolveRequested(first);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    requested,
    dispose: () => {
      clearTimeout(timer);
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}
