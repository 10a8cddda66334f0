// Finds processes a test file left behind. Every process the run starts
// inherits PROCMETRICS_TEST_RUN (set in vitest.config.ts) unless it was given
// an environment of its own, so a scan of /proc/*/environ finds them even after
// they were re-parented to init; those given a fresh environment are still
// found while they descend from the test worker.
import { readdirSync, readFileSync } from 'node:fs';

export const RUN_MARKER = 'PROCMETRICS_TEST_RUN';

export interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly state: string;
  /** Clock ticks since boot: with the pid, names one process even when pids are reused. */
  readonly start: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), state: fields[0] ?? '?', start: fields[19] ?? '?' };
  } catch {
    return undefined; // gone since the listing
  }
}

function carriesMarker(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker);
  } catch {
    return false;
  }
}

export function commandLine(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
    return argv || `[${readFileSync(`/proc/${pid}/comm`, 'latin1').trim()}]`;
  } catch {
    return '(gone)';
  }
}

/** Every live process on the host, by pid. */
export function allProcesses(): Map<number, Proc> {
  const table = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const proc = readProc(Number(name));
    if (proc !== undefined) table.set(proc.pid, proc);
  }
  return table;
}

export const key = (proc: Proc): string => `${proc.pid}:${proc.start}`;

/**
 * Live (not zombie) processes that belong to this run: they carry the run's
 * marker or descend from `root`, other than `root`, its ancestors and the
 * processes in `before` (pid:start keys of what already ran).
 */
export function processesOfRun(root: number, before: ReadonlySet<string>): Proc[] {
  const table = allProcesses();
  const marker = process.env[RUN_MARKER];
  const ancestors = new Set<number>();
  for (let pid: number | undefined = root; pid !== undefined && pid > 0 && !ancestors.has(pid); pid = table.get(pid)?.ppid) {
    ancestors.add(pid);
  }
  const descends = (proc: Proc): boolean => {
    const seen = new Set<number>();
    for (let pid = proc.ppid; pid > 1 && !seen.has(pid); pid = table.get(pid)?.ppid ?? 0) {
      if (pid === root) return true;
      seen.add(pid);
    }
    return false;
  };
  return [...table.values()].filter(
    (proc) =>
      proc.state !== 'Z' &&
      !ancestors.has(proc.pid) &&
      !before.has(key(proc)) &&
      ((marker !== undefined && carriesMarker(proc.pid, `${RUN_MARKER}=${marker}`)) || descends(proc)),
  );
}

/** Kills each (SIGKILL); one already gone is fine. */
export function killEach(procs: readonly Proc[]): void {
  for (const proc of procs) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // ESRCH: it went by itself.
    }
  }
}
