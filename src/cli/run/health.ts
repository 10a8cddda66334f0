import { spawn } from 'node:child_process';
import { describeExit, exitStatusOf } from './exit-status.js';
import { killGroup } from './process-group.js';

/** What a failed check said, kept from its stderr: the last line, at most this many characters. */
const STDERR_TAIL_CHARS = 200;

/** The last non-empty line of what a check wrote to stderr, control characters dropped. */
function stderrTail(text: string): string {
  const lines = text.split(/\r?\n/).map((line) => line.replace(/[\u0000-\u001f\u007f]/g, '').trim());
  const last = lines.filter((line) => line !== '').at(-1) ?? '';
  return last.length > STDERR_TAIL_CHARS ? `...${last.slice(-STDERR_TAIL_CHARS)}` : last;
}

/** A check's verdict; `reason` says why a failed one failed. */
export interface HealthVerdict {
  healthy: boolean;
  reason: string;
}

/**
 * Runs a health command every interval, one at a time, and reports whether it
 * exited 0, and if not why: `exited with code 1: <last stderr line>`,
 * `timed out after 10s`, `cannot start: ENOENT`. A check that outlives its interval is killed and counts as failed:
 * a hung probe is an unhealthy service, not a reason to stop probing.
 * Each check leads its own process group, killed whole when the check ends,
 * times out, or the service stops.
 */
export class HealthCheck {
  #timer: NodeJS.Timeout | undefined;
  #running: { kill: () => void; done: Promise<void> } | undefined;
  #stopped = false;

  constructor(
    private readonly argv: readonly string[],
    private readonly intervalMs: number,
    private readonly report: (verdict: HealthVerdict) => void,
  ) {}

  /** First check at once, then one per interval. */
  start(): void {
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#running?.kill();
    await this.#running?.done;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      const started = Date.now();
      this.#running = this.#runOnce();
      void this.#running.done.then(() => {
        this.#running = undefined;
        this.#schedule(Math.max(0, this.intervalMs - (Date.now() - started)));
      });
    }, delayMs);
  }

  #runOnce(): { kill: () => void; done: Promise<void> } {
    const [command = '', ...args] = this.argv;
    // Its own process group: `sh -c '...'` starts grandchildren, and a timeout or a
    // shutdown must take them too, not just the direct child.
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4 * STDERR_TAIL_CHARS);
    });
    let timedOut = false;
    // The check's pid names its group only until the check is reaped; from then on it may be a stranger's.
    const killGroupNow = (): void => killGroup(child.pid, 'SIGKILL');
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) killGroupNow();
    };
    const timeout = setTimeout(() => {
      timedOut = true;
      kill();
    }, this.intervalMs);
    const done = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (healthy: boolean, why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        // Whatever the check left running in its group goes with it: a probe has no business outliving itself.
        // This runs in the exit event itself, before the reaped pid can be handed on.
        killGroupNow();
        const tail = stderrTail(stderr);
        const reason = healthy ? '' : tail === '' ? why : `${why}: ${tail}`;
        if (!this.#stopped) this.report({ healthy, reason });
        resolve();
      };
      child.once('error', (error: NodeJS.ErrnoException) =>
        settle(false, describeExit({ kind: 'spawn-failed', errno: error.code ?? 'EIO' })),
      );
      child.once('exit', (code, signal) => {
        const why = timedOut ? `timed out after ${formatSeconds(this.intervalMs)}` : describeExit(exitStatusOf(code, signal));
        settle(code === 0 && !timedOut, why);
      });
    });
    return { kill, done };
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
