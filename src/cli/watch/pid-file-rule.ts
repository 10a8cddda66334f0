import type { Resolution } from './resolve.js';

/** One process: a pid the kernel hands to a new process is a different identity. */
export interface Identity {
  pid: number;
  /** ms since epoch. */
  startTime: number;
}

/** What a pid file target does after one read of its file. */
export type PidFileStep =
  /** Stay on the process followed so far. `problem`: the read failed (counted, not a state change). */
  | { action: 'keep'; pending: Identity | undefined; problem?: string }
  | { action: 'follow'; identity: Identity }
  /** No process. `removed`: the file is gone too, as after an orderly stop. */
  | { action: 'down'; reason: string; removed: boolean };

/**
 * The pid file rule. Files are rewritten carelessly: truncated then written, a
 * partial write, a moment of EACCES or EMFILE, a pid written before its process
 * is up. None of that may invent a stop or a restart, so while the process
 * followed so far (`last`, same pid and start time) is alive:
 * - a read that yields no running process is counted and changes nothing;
 * - a different running process is followed only when two reads in a row name
 *   it (`pending` holds the first), so one half-written pid cannot take over.
 * Once `last` is gone (or there never was one) the file is taken at its word:
 * a running process is followed at once, anything else is down (`removed`
 * when the file itself is gone: the watcher calls that an orderly stop).
 */
export function nextPidFileStep(
  read: Resolution,
  last: Identity | undefined,
  lastAlive: boolean,
  pending: Identity | undefined,
): PidFileStep {
  // Failing to look (EMFILE, EACCES on /proc) says nothing about any process.
  if (!read.found && read.problem === 'error') return { action: 'keep', pending, problem: read.reason };
  if (last === undefined || !lastAlive) {
    return read.found
      ? { action: 'follow', identity: identityOf(read) }
      : { action: 'down', reason: read.reason, removed: read.problem === 'missing' };
  }
  if (!read.found) return { action: 'keep', pending: undefined, problem: read.reason };
  const named = identityOf(read);
  if (sameIdentity(named, last)) return { action: 'keep', pending: undefined };
  if (pending !== undefined && sameIdentity(named, pending)) return { action: 'follow', identity: named };
  return { action: 'keep', pending: named };
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.pid === b.pid && a.startTime === b.startTime;
}

function identityOf(read: Resolution & { found: true }): Identity {
  return { pid: read.pid, startTime: read.startTime };
}
