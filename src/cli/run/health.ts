import { spawn } from 'node:child_process';
import { killGroup } from './process-group.js';

/**
 * Runs a health command every interval, one at a time, and reports whether it
 * exited 0. A check that outlives its interval is killed and counts as failed:
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
    private readonly report: (healthy: boolean) => void,
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
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    const kill = (): void => killGroup(child.pid, 'SIGKILL');
    const timeout = setTimeout(kill, this.intervalMs);
    const done = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (healthy: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        // Whatever the check left running in its group goes with it: a probe has no business outliving itself.
        kill();
        if (!this.#stopped) this.report(healthy);
        resolve();
      };
      child.once('error', () => settle(false));
      child.once('exit', (code) => settle(code === 0));
    });
    return { kill, done };
  }
}
