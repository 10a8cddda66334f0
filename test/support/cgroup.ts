// cgroups made by tests as root, on this machine's real hierarchies (hybrid v1 + v2).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './process.js';

/** The v1 hierarchies and the v2 mount of this machine, when they are there and writable. */
export const HIERARCHIES = [
  '/sys/fs/cgroup/unified',
  '/sys/fs/cgroup/cpuacct',
  '/sys/fs/cgroup/cpu',
  '/sys/fs/cgroup/memory',
  '/sys/fs/cgroup/pids',
];
/**
 * What the machine lacks for makeCgroup(), or undefined: root and the hybrid
 * hierarchies above. A pure cgroup v2 host has no v1 hierarchy: there the
 * readers are covered by the trees under test/fixtures/cgroup instead.
 */
export function missingForCgroups(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root, to make cgroups';
  const absent = HIERARCHIES.filter((dir) => !existsSync(join(dir, 'cgroup.procs')));
  if (absent.length > 0) return `needs the hybrid cgroup v1 + v2 hierarchies; absent: ${absent.join(', ')}`;
  return undefined;
}
export const canMakeCgroups = missingForCgroups() === undefined;

export interface TestCgroup {
  /** The path every hierarchy has it under, as a cgroup target names it: /procmetrics-test-... */
  readonly path: string;
  /** Moves a process into it, in every hierarchy. */
  add(pid: number): void;
  /** Writes a control file, e.g. set('/sys/fs/cgroup/memory', 'memory.limit_in_bytes', 512 * MIB). */
  set(hierarchy: string, file: string, value: number): void;
  /** Kills what is still in it, then removes it once its processes are gone. */
  remove(): Promise<void>;
}

/**
 * SIGKILL to every process still listed in the cgroup in any hierarchy. A
 * cgroup with a process in it cannot be removed: one that a failed test left
 * running (a process spawned outside killAll's reach, a grandchild) would keep
 * the cgroup on the machine for good.
 */
function killMembers(path: string): void {
  for (const dir of HIERARCHIES) {
    let listed: string;
    try {
      listed = readFileSync(`${dir}${path}/cgroup.procs`, 'utf8');
    } catch {
      continue; // removed already, or never made
    }
    for (const pid of listed.split('\n').filter((line) => line !== '')) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // ESRCH: gone meanwhile
      }
    }
  }
}

/** Removes the cgroup from every hierarchy, once the processes in it are gone. */
async function removeCgroup(path: string): Promise<void> {
  killMembers(path);
  for (const dir of HIERARCHIES) {
    await waitFor(
      () => {
        try {
          rmdirSync(dir + path);
          return true;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code === 'ENOENT';
        }
      },
      { what: `${dir}${path} removed` },
    );
  }
}

/** A cgroup of the same path in every hierarchy; removed by the caller, which kills what it left in it. */
export function makeCgroup(): TestCgroup {
  const path = `/procmetrics-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const made: string[] = [];
  try {
    for (const dir of HIERARCHIES) {
      mkdirSync(dir + path);
      made.push(dir);
    }
  } catch (error) {
    // Nothing is handed back to remove it: undo what was made here.
    for (const dir of made.reverse()) rmdirSync(dir + path);
    throw error;
  }
  return {
    path,
    add: (pid) => {
      for (const dir of HIERARCHIES) writeFileSync(`${dir}${path}/cgroup.procs`, String(pid));
    },
    set: (hierarchy, file, value) => writeFileSync(`${hierarchy}${path}/${file}`, String(value)),
    remove: () => removeCgroup(path),
  };
}
