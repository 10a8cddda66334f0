import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findCgroupMounts } from '../../collectors/cgroup/mounts.js';
import { HostRoot } from '../../collectors/procfs/host-root.js';
import { parseCgroupFile } from '../../collectors/procfs/parse-cgroup.js';
import { ProcParseError } from '../../collectors/procfs/parse-error.js';
import { parseStat } from '../../collectors/procfs/parse-stat.js';

/**
 * A cgroup of its own for one supervised command: everything the command
 * starts is born in it and cannot leave it (setsid, double forks and daemons
 * included), so killing every pid in it leaves nothing behind. Its directory
 * (`path`, under `hierarchy`) is also where its accounting can be read.
 */
export interface CommandCgroup {
  /** 2: the unified hierarchy; 1: a v1 hierarchy (pids or cpu). */
  readonly version: 1 | 2;
  /** The cgroup's directory, e.g. <cgroup2 mount>/procmetrics/123-4567-4026531836-api. */
  readonly path: string;
  /** The same cgroup as a path within its hierarchy, e.g. /procmetrics/123-4567-4026531836-api: a cgroup target. */
  readonly target: string;
  /**
   * Runs `start` (a synchronous spawn) with this process inside the cgroup for
   * just that long, so the child is in it from its first instruction: moving
   * it in after the fact would race with whatever it forks first.
   */
  spawnInside<T>(start: () => T): T;
  /** The processes in it now (never this process). */
  pids(): number[];
  /** One synchronous pass of `signal` to every process in it: the last resort on a forced exit. */
  signalAll(signal: NodeJS.Signals): void;
  /** SIGKILLs everything in it until it is empty (bounded: about 2 s). True when it is empty. */
  empty(): Promise<boolean>;
  /** Empties it and removes its directory. */
  remove(): Promise<void>;
}

const BASE = 'procmetrics';
/** A process may be mid-fork when it is killed; this many passes of kill-and-look, 20 ms apart. */
const EMPTY_PASSES = 100;

interface Hierarchy {
  version: 1 | 2;
  /** Mount point, under the host root. */
  mount: string;
  /** This process's cgroup inside it, e.g. / or /system.slice/x.service. */
  own: string;
}

/** cgroup v2 first (it has cgroup.kill and is what most hosts run), else the v1 pids or cpu hierarchy. */
function findHierarchy(root: HostRoot): Hierarchy | string {
  const mounts = findCgroupMounts(root);
  let memberships: ReturnType<typeof parseCgroupFile>;
  try {
    memberships = parseCgroupFile(readFileSync(root.pid('self', 'cgroup'), 'utf8'));
  } catch {
    return 'cannot read /proc/self/cgroup';
  }
  if (memberships instanceof ProcParseError) return 'cannot read /proc/self/cgroup';
  const v2Own = memberships.find((membership) => membership.hierarchyId === 0);
  if (mounts.v2 !== undefined && v2Own !== undefined) return { version: 2, mount: mounts.v2, own: v2Own.path };
  for (const controller of ['pids', 'cpu'] as const) {
    const mount = mounts[controller];
    const own = memberships.find((membership) => membership.controllers.includes(controller));
    if (mount !== undefined && own !== undefined) return { version: 1, mount, own: own.path };
  }
  return 'no cgroup hierarchy is mounted';
}

/** `pid-startTicks-pidNamespace`: names this process unambiguously, even after its pid is reused. */
function ownerTag(root: HostRoot, pid: number): string | undefined {
  try {
    const stat = parseStat(readFileSync(root.pid(pid, 'stat')));
    if (stat instanceof ProcParseError) return undefined;
    const namespace = /\[(\d+)\]/.exec(readlinkSync(root.pid(pid, 'ns/pid')))?.[1];
    return namespace === undefined ? undefined : `${pid}-${stat.startTicks}-${namespace}`;
  } catch {
    return undefined;
  }
}

let sequence = 0;

/**
 * Makes a cgroup for the command called `label`, or says why none can be made
 * (not root, no writable hierarchy, a read-only /sys in a container).
 */
export function createCgroup(label: string, root: HostRoot = HostRoot.live): CommandCgroup | { problem: string } {
  const hierarchy = findHierarchy(root);
  if (typeof hierarchy === 'string') return { problem: hierarchy };
  const owner = ownerTag(root, process.pid);
  if (owner === undefined) return { problem: 'cannot read /proc/self' };
  const path = join(hierarchy.mount, BASE, `${owner}-${label}-${++sequence}`);
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    return { problem: `cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? 'failed'}` };
  }
  return cgroupAt(path, hierarchy);
}

/** `path` (a directory under the hierarchy's mount) as a path within the hierarchy. */
function withinHierarchy(path: string, hierarchy: Hierarchy): string {
  return path.slice(hierarchy.mount.replace(/\/+$/, '').length) || '/';
}

function cgroupAt(path: string, hierarchy: Hierarchy): CommandCgroup {
  const procs = join(path, 'cgroup.procs');
  const home = join(hierarchy.mount, hierarchy.own, 'cgroup.procs');
  const pids = (): number[] => {
    try {
      return readFileSync(procs, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map(Number)
        .filter((pid) => pid !== process.pid);
    } catch {
      return [];
    }
  };
  const signalAll = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGKILL' && hierarchy.version === 2) {
      try {
        writeFileSync(join(path, 'cgroup.kill'), '1'); // kernel 5.14+: the whole cgroup at once, forks included
      } catch {
        // Older kernel: the pass below does it pid by pid.
      }
    }
    for (const pid of pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // ESRCH: it exited meanwhile.
      }
    }
  };
  const empty = async (): Promise<boolean> => {
    for (let pass = 0; pass < EMPTY_PASSES; pass++) {
      if (pids().length === 0) return true;
      signalAll('SIGKILL');
      await sleep(20);
    }
    return pids().length === 0;
  };
  return {
    version: hierarchy.version,
    path,
    target: withinHierarchy(path, hierarchy),
    spawnInside: <T>(start: () => T): T => {
      writeFileSync(procs, String(process.pid));
      try {
        return start();
      } finally {
        // Back home at once: nothing of ours may be killed with the command.
        writeFileSync(home, String(process.pid));
      }
    },
    pids,
    signalAll,
    empty,
    remove: async () => {
      await empty();
      await removeDirectory(path);
    },
  };
}

/** A cgroup with no processes may still be busy for a moment while the last exits are accounted. */
async function removeDirectory(path: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      await sleep(20);
    }
  }
}

/**
 * Whether the procmetrics process that made a cgroup still runs, from the
 * owner part of the cgroup's name. `gone` only on proof: no process at that pid,
 * or one that started at another time (the pid was reused). A process that
 * cannot be read (another user's, under hidepid) is taken to be alive: a
 * cgroup is never emptied on a guess.
 */
function ownerState(root: HostRoot, pid: number, startTicks: string): 'alive' | 'gone' {
  let stat: ReturnType<typeof parseStat>;
  try {
    stat = parseStat(readFileSync(root.pid(pid, 'stat')));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'alive';
  }
  if (stat instanceof ProcParseError) return 'alive';
  return String(stat.startTicks) === startTicks ? 'alive' : 'gone';
}

/**
 * Empties and removes the cgroups of procmetrics processes that are gone
 * without cleaning up (SIGKILL, a crash, the OOM killer): what they supervised
 * dies here. A cgroup is swept only when all of this holds:
 * - it was made in this pid namespace (an owner pid means nothing in another);
 * - it was made by this user (its directory belongs to our effective uid), so
 *   one user's procmetrics never signals what another user's supervises;
 * - its owner is provably gone (see ownerState).
 * Returns how many were swept. `root` is the machine's unless a test gives a fixture tree.
 */
export async function sweepOrphanCgroups(root: HostRoot = HostRoot.live): Promise<number> {
  const hierarchy = findHierarchy(root);
  const self = ownerTag(root, process.pid);
  if (typeof hierarchy === 'string' || self === undefined) return 0;
  const namespace = self.split('-')[2];
  const base = join(hierarchy.mount, BASE);
  if (!existsSync(base)) return 0;
  const uid = process.geteuid?.();
  let swept = 0;
  for (const name of readdirSync(base)) {
    const owner = /^(\d+)-(\d+)-(\d+)-/.exec(name);
    if (owner === null || owner[3] !== namespace) continue;
    const path = join(base, name);
    if (!madeBy(path, uid)) continue;
    if (ownerState(root, Number(owner[1]), owner[2] ?? '') === 'alive') continue;
    await cgroupAt(path, hierarchy).remove();
    swept += 1;
  }
  return swept;
}

/** True when `path` is a directory (not a link) whose owner is `uid`. */
function madeBy(path: string, uid: number | undefined): boolean {
  try {
    const stats = lstatSync(path);
    return stats.isDirectory() && uid !== undefined && stats.uid === uid;
  } catch {
    return false;
  }
}
