import { readFile, readdir } from 'node:fs/promises';
import { ProcParseError } from '../../collectors/procfs/parseError.js';
import { parseStat } from '../../collectors/procfs/parseStat.js';
import { readRegularFile } from '../read-regular.js';

/**
 * Bytes of each command line a `match:` sees. Any local user chooses command
 * lines (up to megabytes); a pattern is judged on this prefix only, which
 * bounds a scan's cost whatever runs on the machine.
 */
export const COMMAND_LINE_MAX_BYTES = 4096;

/** A process as the resolvers see it: who, since when, started how. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  /** Start time in clock ticks after boot: enough to order processes and to tell a reused pid. */
  startTicks: number;
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
export function pickOldest(
  entries: Iterable<ProcEntry>,
  pattern: RegExp,
  excluded: ReadonlySet<number>,
): ProcEntry | undefined {
  let best: ProcEntry | undefined;
  for (const entry of entries) {
    if (excluded.has(entry.pid) || entry.commandLine === '' || entry.state === 'Z') continue;
    // A /g or /y pattern keeps lastIndex between test() calls; reset it so every line is judged alone.
    pattern.lastIndex = 0;
    if (!pattern.test(entry.commandLine)) continue;
    if (best === undefined || entry.startTicks < best.startTicks || (entry.startTicks === best.startTicks && entry.pid < best.pid)) {
      best = entry;
    }
  }
  return best;
}

/** One process from /proc, or null when it is gone (or unreadable). */
export async function readProcEntry(pid: number, withCommandLine = true): Promise<ProcEntry | null> {
  try {
    const stat = parseStat(await readFile(`/proc/${pid}/stat`));
    if (stat instanceof ProcParseError) return null;
    const commandLine = withCommandLine ? await readCommandLine(pid) : '';
    if (commandLine === null) return null;
    return { pid, ppid: stat.ppid, startTicks: stat.startTicks, commandLine, state: stat.state };
  } catch {
    // ENOENT/ESRCH: it exited between readdir and read, the normal race of a /proc walk.
    return null;
  }
}

/** The first COMMAND_LINE_MAX_BYTES of a command line, or null when the process is gone. */
async function readCommandLine(pid: number): Promise<string | null> {
  const read = await readRegularFile(`/proc/${pid}/cmdline`, COMMAND_LINE_MAX_BYTES);
  return read.ok ? commandLineOf(read.head.toString('utf8')) : null;
}

/** Every process visible in /proc. */
export async function scanProc(): Promise<ProcEntry[]> {
  const names = await readdir('/proc');
  const pids = names.filter((name) => /^\d+$/.test(name)).map(Number);
  const entries = await Promise.all(pids.map((pid) => readProcEntry(pid)));
  return entries.filter((entry): entry is ProcEntry => entry !== null);
}

/** This process and every ancestor up to init: the processes a `match:` must never pick. */
export async function selfAndAncestors(): Promise<Set<number>> {
  const pids = new Set<number>();
  let pid = process.pid;
  while (pid > 0 && !pids.has(pid)) {
    pids.add(pid);
    const entry = await readProcEntry(pid, false);
    if (entry === null) break;
    pid = entry.ppid;
  }
  return pids;
}
