import { spawn } from 'node:child_process';

/**
 * Runs a health command every interval, one at a time, and reports whether it
 * exited 0. A check that outlives its interval is killed and counts as failed:
 * a hung probe is an unhealthy service, not a reason to stop probing.
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
    const child = spawn(command, args, { stdio: 'ignore' });
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    const timeout = setTimeout(kill, this.intervalMs);
    const done = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (healthy: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        if (!this.#stopped) this.report(healthy);
        resolve();
      };
      child.once('error', () => settle(false));
      child.once('exit', (code) => settle(code === 0));
    });
    return { kill, done };
  }
}
