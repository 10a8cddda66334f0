import { closeSync, openSync, readSync } from 'node:fs';
import type { TreeCounters } from './tree-sample.js';
import type { HostRoot } from './host-root.js';

/** The per-process files, in the order their fds are held. */
export const STAT = 0;
export const STATM = 1;
export const STATUS = 2;
export const IO = 3;
export type ProcFile = typeof STAT | typeof STATM | typeof STATUS | typeof IO;
const FILE_NAMES = ['stat', 'statm', 'status', 'io'] as const;

/**
 * What the collector keeps for one pid it follows: the open fds of its /proc
 * files and what is cached for the process instance they belong to. A held fd
 * stays bound to that instance: once it exits, reading the fd fails with ESRCH
 * even when the kernel has handed the pid to a new process.
 */
export class FollowedProcess {
  /** `<proc>/<pid>/` */
  readonly dir: string;
  /** `<proc>/<pid>/fd` */
  readonly fdDir: string;
  /** fds by ProcFile, -1 where not open; null when none are held (reads open and close). */
  fds: number[] | null = null;
  /** Start of the instance the caches belong to, ms since epoch; 0 before the first read. */
  startTimeMs = 0;
  /** Why /proc/PID/io cannot be read for this instance (e.g. EACCES); null when it can. */
  ioDenied: string | null = null;
  /** CPUs available, read once per instance; undefined until read. */
  cpusAvailable: number | null | undefined = undefined;
  /** The last smaps_rollup reading of this instance (when, performance.now() ms); null when it cannot be read. */
  smaps: { pss: number; uss: number; readAt: number } | null | undefined = undefined;
  /** The sweep that last asked for this pid. */
  lastSweep = 0;
  /** When this process is the root of a tree target: its counters, kept across sweeps. */
  tree: TreeCounters | undefined = undefined;
  /** ... and the descendants read last sweep, released with it. */
  treeMembers: readonly number[] = [];

  constructor(
    readonly pid: number,
    root: HostRoot,
  ) {
    this.dir = `${root.pid(pid)}/`;
    this.fdDir = `${this.dir}fd`;
  }

  /** Reads a file from position 0 into `buffer`; throws the errno error. */
  read(file: ProcFile, buffer: Buffer): number {
    const fd = this.fds?.[file] ?? -1;
    if (fd >= 0) return readSync(fd, buffer, 0, buffer.length, 0);
    const fresh = openSync(this.dir + FILE_NAMES[file], 'r');
    try {
      return readSync(fresh, buffer, 0, buffer.length, 0);
    } finally {
      closeSync(fresh);
    }
  }

  /**
   * Opens and holds the fds of `files`. A failure of stat or statm throws (the
   * process is not there); the others stay closed and fail per read.
   * Returns how many fds are now held.
   */
  hold(files: readonly ProcFile[]): number {
    const fds = [-1, -1, -1, -1];
    let opened = 0;
    try {
      for (const file of files) {
        try {
          fds[file] = openSync(this.dir + FILE_NAMES[file], 'r');
          opened++;
        } catch (error) {
          if (file === STAT || file === STATM) throw error;
          // Left to the per-read path, which counts the failure as a missing field.
          if (file === IO) this.ioDenied = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
        }
      }
    } catch (error) {
      for (const fd of fds) if (fd >= 0) closeSync(fd);
      throw error;
    }
    this.fds = fds;
    return opened;
  }

  /** Closes every held fd; returns how many were closed. */
  releaseFds(): number {
    if (this.fds === null) return 0;
    let closed = 0;
    for (const fd of this.fds) {
      if (fd < 0) continue;
      try {
        closeSync(fd);
      } catch {
        // Already closed; nothing is leaked either way.
      }
      closed++;
    }
    this.fds = null;
    return closed;
  }

  /** The instance changed (or ended): what was cached about it no longer applies. */
  forgetInstance(startTimeMs: number): void {
    this.startTimeMs = startTimeMs;
    this.ioDenied = null;
    this.cpusAvailable = undefined;
    this.smaps = undefined;
    this.tree = undefined;
    this.treeMembers = [];
  }
}
