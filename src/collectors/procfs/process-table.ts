import { readdirSync } from 'node:fs';
import { ProcParseError } from './parse-error.js';
import { parseStat } from './parse-stat.js';
import { machineConstants, readBootTimeMs } from './machine.js';
import { readSmallFile } from './read-text.js';
import { HostRoot } from './host-root.js';

/** Who a process is, as /proc/PID/stat tells: enough to find it again and to tell a reused pid. */
export interface ProcessIdentity {
  pid: number;
  ppid: number;
  /** One-letter kernel state (R, S, Z, ...). */
  state: string;
  /** When it started, ms since epoch: with the pid, the identity the collector pins a target to. */
  startTime: number;
}

/** Start time, ms since epoch, from /proc/PID/stat's ticks after boot: one formula for every reader. */
export function startTimeMs(bootTimeMs: number, startTicks: number, clockTicksPerSecond: number): number {
  return Math.round(bootTimeMs + (startTicks * 1000) / clockTicksPerSecond);
}

/** A process that exited (or never was) between listing and reading. */
export function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ESRCH' || code === 'ENOENT';
}

/**
 * The process table of one procfs mount, read as the collector reads it: the
 * same parser, the same start times (ms). For finding processes (by pid file,
 * by command line); sampling them is the collector's job.
 */
export class ProcessTable {
  readonly root: HostRoot;
  readonly #bootTimeMs: number;
  readonly #clockTicksPerSecond: number;

  /**
   * @param root where procfs is: a HostRoot, or the path of a procfs (default the machine's).
   * @param clockTicksPerSecond CLK_TCK; default as the collector's (getconf, else 100).
   */
  constructor(root: HostRoot | string = HostRoot.live, clockTicksPerSecond = machineConstants().clockTicksPerSecond) {
    this.root = typeof root === 'string' ? new HostRoot(root) : root;
    this.#bootTimeMs = readBootTimeMs(this.root);
    this.#clockTicksPerSecond = clockTicksPerSecond;
  }

  /** Every pid in the table now. */
  pids(): number[] {
    const pids: number[] = [];
    for (const name of readdirSync(this.root.proc)) {
      const code = name.charCodeAt(0);
      if (code >= 0x31 && code <= 0x39 && /^\d+$/.test(name)) pids.push(Number(name));
    }
    return pids;
  }

  /**
   * The identity of `pid`; null when there is no such process (or its stat is
   * not a stat file). Any other failure (EMFILE, EACCES) is thrown: running out
   * of fds is not the process being gone.
   */
  identity(pid: number): ProcessIdentity | null {
    let text: string;
    try {
      text = readSmallFile(this.root.pid(pid, 'stat'));
    } catch (error) {
      if (isGone(error)) return null;
      throw error;
    }
    const stat = parseStat(Buffer.from(text, 'latin1'));
    if (stat instanceof ProcParseError) return null;
    const startTime = startTimeMs(this.#bootTimeMs, stat.startTicks, this.#clockTicksPerSecond);
    return { pid, ppid: stat.ppid, state: stat.state, startTime };
  }

  /** `<proc>/<pid>/<file>` */
  path(pid: number, file: string): string {
    return this.root.pid(pid, file);
  }
}
