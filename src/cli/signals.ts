/** Total time a shutdown may take after SIGINT/SIGTERM before it is cut short, ms. */
const SHUTDOWN_BUDGET_MS = 1900;

/**
 * SIGHUP too: the children run in their own sessions, so a closed terminal
 * reaches them only through us.
 */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface StopListener {
  /** Resolves with the first SIGINT, SIGTERM or SIGHUP. */
  readonly requested: Promise<NodeJS.Signals>;
  dispose(): void;
}

/**
 * Turns SIGINT/SIGTERM into a promise. A shutdown that overruns its budget, or
 * a second signal, calls `force` (which should kill what is left and exit):
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
    first = signal;
    timer = setTimeout(() => force(signal), budgetMs);
    timer.unref();
    resolveRequested(signal);
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
