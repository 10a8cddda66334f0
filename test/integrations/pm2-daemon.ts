// A real PM2 daemon on a scratch PM2_HOME, driven through PM2's own command line.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../support/process.js';

const PM2_BIN = join(createRequire(import.meta.url).resolve('pm2/package.json'), '..', 'bin', 'pm2');
const run = promisify(execFile);

export interface Pm2Entry {
  name: string;
  pm_id: number;
  pid: number;
  pm2_env: { status: string; restart_time: number };
}

export class Pm2Daemon {
  readonly home = mkdtempSync(join(tmpdir(), 'procmetrics-pm2-'));
  /** An app that idles until it is stopped. */
  readonly script = join(this.home, 'idle.cjs');

  /** An app that fails at once, every time, and that PM2 gives up on after 3 tries (`errored`). */
  readonly crashing = join(this.home, 'crashing.json');

  constructor() {
    writeFileSync(this.script, 'setInterval(() => {}, 1 << 30);\n');
    writeFileSync(join(this.home, 'crash.cjs'), 'process.exit(3);\n');
    const app = { name: 'delta', script: join(this.home, 'crash.cjs'), max_restarts: 3, min_uptime: 5000 };
    writeFileSync(this.crashing, JSON.stringify({ apps: [app] }));
  }

  /** `pm2 ARGS...` on this home; resolves with its stdout. */
  async pm2(...args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, [PM2_BIN, ...args], {
      env: { ...process.env, PM2_HOME: this.home },
      timeout: 60_000,
    });
    return stdout;
  }

  /** The daemon's own list, as `pm2 jlist` prints it. */
  async list(): Promise<Pm2Entry[]> {
    return JSON.parse(await this.pm2('jlist')) as Pm2Entry[];
  }

  /** The daemon's pid, or 0 when it wrote none. */
  daemonPid(): number {
    const file = join(this.home, 'pm2.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0;
  }

  /**
   * Kills the daemon and its apps (`pm2 kill`), then waits until none of
   * their processes is left: PM2 starts its daemon detached, out of reach of
   * the run's own clean-up.
   */
  async kill(): Promise<void> {
    const pids = [this.daemonPid(), ...(await this.list().catch(() => [])).map((entry) => entry.pid)].filter((pid) => pid > 0);
    await this.pm2('kill').catch(() => undefined);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
    await waitFor(() => pids.every((pid) => !alive(pid)), { what: `PM2's processes ${pids.join(', ')} to end` });
    rmSync(this.home, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
