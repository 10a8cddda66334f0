import { PID_FILE_MAX_BYTES } from '../../core/limits.js';
import { access, constants, stat } from 'node:fs/promises';
import { findCgroupMounts, type CgroupMounts } from '../../collectors/cgroup/mounts.js';
import { HostRoot } from '../../collectors/procfs/host-root.js';
import { eachInStretches } from '../../collectors/sweep.js';
import { readRegularFile } from '../options/read-regular.js';
import { pickOldest, readProcEntry, scanProc, type ProcEntry } from './proc-scan.js';
import type { TargetSpec, WatchService } from '../options/target.js';

/**
 * Where a target points right now. `startTime` (ms since epoch) with the pid
 * names one process: a pid the kernel handed to a new process is a different
 * identity. `missing` is a pid file that does not exist (removed, as a daemon
 * does on an orderly stop). `error` is a failure to look (EMFILE, EACCES),
 * which says nothing about the process.
 */
export type Resolution =
  | { found: true; pid: number; startTime: number }
  | { found: false; problem: 'missing' | 'unreadable' | 'invalid' | 'gone' | 'error'; reason: string };

/**
 * Bytes of a pid file that are read: a pid and its newline fit many times over,
 * and a file that is gigabytes long costs no more than one that is not.
 */

/**
 * A pid file names a process that was running when the file was written. A
 * process that started later than that (by more than this, which covers the
 * clock-tick resolution of start times and the drift between the wall clock
 * and the boot clock) holds a pid the kernel handed out again after the file's
 * process exited: the file is stale, and that process is a stranger.
 */
const PID_FILE_STALE_MARGIN_MS = 1000;

/** A pid file holds a decimal pid on its first line; anything else is refused. */
export function parsePidFile(text: string): number | null {
  const first = text.split('\n', 1)[0]?.trim() ?? '';
  if (!/^[1-9]\d{0,9}$/.test(first)) return null;
  const pid = Number(first);
  return pid <= 4_194_304 ? pid : null;
}

/**
 * Resolves every target once. /proc is walked at most once per call, however
 * many `match:` targets there are.
 */
export async function resolveAll(services: readonly WatchService[], excluded: ReadonlySet<number>): Promise<Map<string, Resolution>> {
  let scan: Promise<ProcEntry[]> | undefined;
  const entries = (): Promise<ProcEntry[]> => (scan ??= scanProc());
  // A pid target is read at once (its stat, synchronously): thousands of them are read in
  // stretches with a turn of the event loop between them, not in one block.
  const pending = await eachInStretches(services, (service) =>
    resolve(service.target, excluded, entries).then(
      (resolution) => [service.name, resolution] as const,
      (error: unknown) => [service.name, lookFailed(error)] as const,
    ),
  );
  return new Map(await Promise.all(pending));
}

async function resolve(target: TargetSpec, excluded: ReadonlySet<number>, entries: () => Promise<ProcEntry[]>): Promise<Resolution> {
  switch (target.kind) {
    case 'pid':
      return byPid(target.pid, `no process with pid ${target.pid}`);
    case 'group':
      // A group is no one process: the tracker follows it itself (see watch/command.ts).
      return { found: false, problem: 'invalid', reason: 'a group target has no single process' };
    case 'pidfile': {
      const read = await readRegularFile(target.path, PID_FILE_MAX_BYTES);
      if (!read.ok) {
        const problem = read.problem === 'ENOENT' ? 'missing' : 'unreadable';
        return { found: false, problem, reason: `cannot read pid file ${target.path}: ${read.problem}` };
      }
      // What the file holds is never shown: it may be a link to something secret.
      const pid = parsePidFile(read.head.toString('utf8'));
      if (pid === null) return { found: false, problem: 'invalid', reason: `pid file ${target.path} does not hold a pid` };
      const running = await byPid(pid, `pid file ${target.path}: process ${pid} is not running`);
      if (running.found && running.startTime > read.modifiedMs + PID_FILE_STALE_MARGIN_MS) {
        return { found: false, problem: 'gone', reason: `pid file ${target.path}: process ${pid} started after the file was written` };
      }
      return running;
    }
    case 'cgroup':
      // The tracker looks the cgroup up itself, each time the watcher follows it; this only
      // refuses what can never be one, or what we may not read.
      return checkCgroup(target.path);
    case 'match': {
      const entry = pickOldest(await entries(), target.pattern, excluded);
      return entry
        ? { found: true, pid: entry.pid, startTime: entry.startTime }
        : { found: false, problem: 'gone', reason: `no process matches /${target.pattern.source}/` };
    }
  }
}

/**
 * Whether the process that had this pid and start time still runs (a zombie
 * does not). When /proc cannot be read (EMFILE), it is taken to run on: a
 * failure to look must not invent a stop.
 */
export async function stillRunning(identity: { pid: number; startTime: number }): Promise<boolean> {
  try {
    const entry = await readProcEntry(identity.pid, false);
    return entry !== null && entry.state !== 'Z' && entry.startTime === identity.startTime;
  } catch {
    return true;
  }
}

async function byPid(pid: number, reason: string): Promise<Resolution> {
  const entry = await readProcEntry(pid, false);
  return entry && entry.state !== 'Z' ? { found: true, pid, startTime: entry.startTime } : { found: false, problem: 'gone', reason };
}

function lookFailed(error: unknown): Resolution {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return { found: false, problem: 'error', reason: `cannot read the process table: ${code}` };
}

let mounts: CgroupMounts | undefined;

/**
 * A cgroup path that names a file in some hierarchy (`/cgroup.procs`) is
 * invalid; one whose process list we may not read is unreadable. Anything
 * else, including a cgroup that does not exist yet, is left to the tracker.
 */
async function checkCgroup(path: string): Promise<Resolution> {
  mounts ??= findCgroupMounts(HostRoot.live);
  const dirs: string[] = [...new Set(Object.values(mounts) as string[])];
  for (const mount of dirs) {
    const dir = path === '/' ? mount : mount + path;
    const kind = await stat(dir).then(
      (found) => (found.isDirectory() ? 'dir' : 'file'),
      () => 'none',
    );
    if (kind === 'file') return { found: false, problem: 'invalid', reason: `${path} is a file in ${mount}, not a cgroup directory` };
    if (kind === 'dir') {
      const denied = await access(`${dir}/cgroup.procs`, constants.R_OK).then(
        () => undefined,
        (error: unknown) => (error as NodeJS.ErrnoException).code ?? 'error',
      );
      if (denied !== undefined) return { found: false, problem: 'unreadable', reason: `cannot read ${dir}/cgroup.procs (${denied})` };
    }
  }
  return { found: true, pid: 0, startTime: 0 };
}
