import { COMMAND_LINE_MAX_BYTES } from '../../core/limits.js';
import { ProcessTable, isGone } from '../../collectors/procfs/process-table.js';
import { readRegularFile } from '../options/read-regular.js';

/**
 * Bytes of each command line a `match:` sees. Any local user chooses command
 * lines (up to megabytes); a pattern is judged on this prefix only, which
 * bounds a scan's cost whatever runs on the machine.
 */

/** A process as the resolvers see it: who, since when, started how. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  /** Start time, ms since epoch, as the collector reads it: orders processes and tells a reused pid. */
  startTime: number;
  /** /proc/PID/cmdline with the NUL separators turned into spaces; '' for kernel threads and zombies. */
  commandLine: string;
  /** One-letter kernel state (R, S, Z, ...). */
  state: string;
}

/** /proc/PID/cmdline separates arguments with NUL and ends with one. */
export function commandLineOf(raw: string): string {
  return raw.replace(/\0+$/, '').replaceAll('\0', ' ');
}

/**
 * The `match:` rule: among processes whose command line matches `pattern`, the
 * oldest by start time (ties: lowest pid), never one in `excluded` (procmetrics
 * itself and its ancestors, whose own command lines carry the pattern), never a
 * zombie or a kernel thread (empty command line).
 */
export function pickOldest(entries: Iterable<ProcEntry>, pattern: RegExp, excluded: ReadonlySet<number>): ProcEntry | undefined {
  let best: ProcEntry | undefined;
  for (const entry of entries) {
    if (excluded.has(entry.pid) || entry.commandLine === '' || entry.state === 'Z') continue;
    // A /g or /y pattern keeps lastIndex between test() calls; reset it so every line is judged alone.
    pattern.lastIndex = 0;
    if (!pattern.test(entry.commandLine)) continue;
    if (best === undefined || entry.startTime < best.startTime || (entry.startTime === best.startTime && entry.pid < best.pid)) {
      best = entry;
    }
  }
  return best;
}

let defaultTable: ProcessTable | undefined;

/** The process table of /proc, made on first use. */
function procTable(): ProcessTable {
  return (defaultTable ??= new ProcessTable());
}

/**
 * One process, or null when it is gone. Other failures (EMFILE, EACCES) are
 * thrown: a process that cannot be read is not a process that exited.
 */
export async function readProcEntry(pid: number, withCommandLine = true, table = procTable()): Promise<ProcEntry | null> {
  const identity = table.identity(pid);
  if (identity === null) return null;
  let commandLine = '';
  if (withCommandLine) {
    const read = await readRegularFile(table.path(pid, 'cmdline'), COMMAND_LINE_MAX_BYTES);
    if (!read.ok) {
      // It exited between its stat and its cmdline, the normal race of a /proc walk.
      if (isGone({ code: read.problem })) return null;
      throw Object.assign(new Error(`cannot read ${table.path(pid, 'cmdline')}: ${read.problem}`), { code: read.problem });
    }
    commandLine = commandLineOf(read.head.toString('utf8'));
  }
  return { pid, ppid: identity.ppid, startTime: identity.startTime, commandLine, state: identity.state };
}

/** Every process in the table; one that exits during the walk is left out. */
export async function scanProc(table = procTable()): Promise<ProcEntry[]> {
  const entries = await Promise.all(table.pids().map((pid) => readProcEntry(pid, true, table)));
  return entries.filter((entry): entry is ProcEntry => entry !== null);
}

/** This process and every ancestor up to init: the processes a `match:` must never pick. */
export async function selfAndAncestors(): Promise<Set<number>> {
  const pids = new Set<number>();
  let pid = process.pid;
  while (pid > 0 && !pids.has(pid)) {
    pids.add(pid);
    const entry = await readProcEntry(pid, false).catch(() => null);
    if (entry === null) break;
    pid = entry.ppid;
  }
  return pids;
}
