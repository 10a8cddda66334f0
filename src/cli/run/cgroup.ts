import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findCgroupMounts, type CgroupMounts } from '../../collectors/cgroup/mounts.js';
import { parseKeyValues } from '../../collectors/cgroup/parse.js';
import { HostRoot } from '../../collectors/procfs/host-root.js';
import { parseCgroupFile } from '../../collectors/procfs/parse-cgroup.js';
import { ProcParseError } from '../../collectors/procfs/parse-error.js';
import { parseStat } from '../../collectors/procfs/parse-stat.js';
import { CPU_PERIOD_US, type ResourceLimits } from '../options/run-options.js';

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
  /** The limits set on it (`createCgroup`'s); null fields: none. */
  readonly limits: ResourceLimits;
  /**
   * Processes in it the kernel's OOM killer has ended since it was made
   * (memory.events oom_kill; v1 memory.oom_control); null where it has no
   * memory accounting to ask.
   */
  oomKills(): number | null;
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

/** Every hierarchy this process is in, by what it offers: the unified one and each v1 controller's. */
interface Hierarchies {
  v2?: Hierarchy;
  v1: Partial<Record<'pids' | 'cpu' | 'memory', Hierarchy>>;
}

function findHierarchies(root: HostRoot): Hierarchies | string {
  const mounts: CgroupMounts = findCgroupMounts(root);
  let memberships: ReturnType<typeof parseCgroupFile>;
  try {
    memberships = parseCgroupFile(readFileSync(root.pid('self', 'cgroup'), 'utf8'));
  } catch {
    return 'cannot read /proc/self/cgroup';
  }
  if (memberships instanceof ProcParseError) return 'cannot read /proc/self/cgroup';
  const found: Hierarchies = { v1: {} };
  const v2Own = memberships.find((membership) => membership.hierarchyId === 0);
  if (mounts.v2 !== undefined && v2Own !== undefined) found.v2 = { version: 2, mount: mounts.v2, own: v2Own.path };
  for (const controller of ['pids', 'cpu', 'memory'] as const) {
    const mount = mounts[controller];
    const own = memberships.find((membership) => membership.hierarchyId !== 0 && membership.controllers.includes(controller));
    if (mount !== undefined && own !== undefined) found.v1[controller] = { version: 1, mount, own: own.path };
  }
  return found;
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

const NO_LIMITS: ResourceLimits = { memoryBytes: null, cpuCores: null };

/**
 * Makes a cgroup for the command called `label`, or says why none can be made
 * (not root, no writable hierarchy, a read-only /sys in a container). With
 * `limits`, they are set on it (v2: memory.max and cpu.max, the controllers
 * switched on for procmetrics' cgroups; v1: the same relative path in the
 * memory and cpu hierarchies), and a limit that cannot be set is a problem too.
 * Without a memory limit, memory accounting is still switched on where v2 allows
 * it, so that an OOM kill can be told from any other SIGKILL.
 */
export function createCgroup(
  label: string,
  limits: ResourceLimits = NO_LIMITS,
  root: HostRoot = HostRoot.live,
): CommandCgroup | { problem: string } {
  const hierarchies = findHierarchies(root);
  if (typeof hierarchies === 'string') return { problem: hierarchies };
  // cgroup v2 first (it has cgroup.kill and is what most hosts run), else the v1 pids or cpu hierarchy.
  const hierarchy = hierarchies.v2 ?? hierarchies.v1.pids ?? hierarchies.v1.cpu;
  if (hierarchy === undefined) return { problem: 'no cgroup hierarchy is mounted' };
  const owner = ownerTag(root, process.pid);
  if (owner === undefined) return { problem: 'cannot read /proc/self' };
  const relative = `/${BASE}/${owner}-${label}-${++sequence}`;
  const path = join(hierarchy.mount, relative);
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    return { problem: `cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? 'failed'}` };
  }
  // Filled by applyLimits; the cgroup reaches them for spawnInside, oomKills and remove.
  const sides: SideCgroup[] = [];
  const cgroup = cgroupAt(path, hierarchy, limits, sides);
  const problem = applyLimits(cgroup, hierarchies, relative, limits, sides);
  if (problem !== undefined) {
    void cgroup.remove();
    return { problem };
  }
  return cgroup;
}

/** Every cgroup of one command beside its main one: the v1 memory and cpu cgroups that carry its limits. */
interface SideCgroup {
  dir: string;
  /** The cgroup.procs this process goes back to after a spawn. */
  home: string;
}

function writeControl(dir: string, file: string, value: string): string | undefined {
  try {
    writeFileSync(join(dir, file), value);
    return undefined;
  } catch (error) {
    return `cannot write ${join(dir, file)}: ${(error as NodeJS.ErrnoException).code ?? 'failed'}`;
  }
}

/**
 * v2: switches `controller` on for the children of the hierarchy's root and of
 * procmetrics' own directory, so the command's cgroup has it. The root cgroup
 * may do so with processes in it; procmetrics' directory holds none.
 */
function enableV2Controller(hierarchy: Hierarchy, controller: 'memory' | 'cpu'): string | undefined {
  const available = readControllers(join(hierarchy.mount, 'cgroup.controllers'));
  if (!available.includes(controller)) return `the cgroup v2 hierarchy has no ${controller} controller`;
  for (const dir of [hierarchy.mount, join(hierarchy.mount, BASE)]) {
    if (readControllers(join(dir, 'cgroup.subtree_control')).includes(controller)) continue;
    const problem = writeControl(dir, 'cgroup.subtree_control', `+${controller}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function readControllers(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
}

/** The v2 cpu.max line for `cores`: quota and period, µs. */
function cpuMaxLine(cores: number): string {
  return `${Math.round(cores * CPU_PERIOD_US)} ${CPU_PERIOD_US}`;
}

/** Sets `limits` on the command's cgroup, adding to `sides` each v1 cgroup made for them; says why one cannot be set. */
function applyLimits(
  cgroup: CommandCgroup,
  hierarchies: Hierarchies,
  relative: string,
  limits: ResourceLimits,
  sides: SideCgroup[],
): string | undefined {
  const v2 = cgroup.version === 2 ? hierarchies.v2 : undefined;
  /** A v1 cgroup at the same relative path as the main one, where a cgroup target's reader looks too. */
  const v1Side = (controller: 'memory' | 'cpu'): string | { problem: string } => {
    const hierarchy = hierarchies.v1[controller];
    if (hierarchy === undefined) return { problem: `no ${controller} controller is mounted (v2 or v1)` };
    const dir = join(hierarchy.mount, relative);
    if (dir === cgroup.path) return dir;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      return { problem: `cannot create ${dir}: ${(error as NodeJS.ErrnoException).code ?? 'failed'}` };
    }
    sides.push({ dir, home: join(hierarchy.mount, hierarchy.own, 'cgroup.procs') });
    return dir;
  };
  const place = (controller: 'memory' | 'cpu'): string | { problem: string } => {
    if (v2 !== undefined && readControllers(join(v2.mount, 'cgroup.controllers')).includes(controller)) {
      const problem = enableV2Controller(v2, controller);
      return problem === undefined ? cgroup.path : { problem };
    }
    return v1Side(controller);
  };
  if (limits.memoryBytes !== null) {
    const dir = place('memory');
    if (typeof dir !== 'string') return `--memory-max cannot be applied: ${dir.problem}`;
    const problem = writeControl(
      dir,
      dir === cgroup.path && v2 !== undefined ? 'memory.max' : 'memory.limit_in_bytes',
      String(limits.memoryBytes),
    );
    if (problem !== undefined) return `--memory-max cannot be applied: ${problem}`;
  } else if (v2 !== undefined) {
    // Accounting only, no limit: best effort.
    enableV2Controller(v2, 'memory');
  }
  if (limits.cpuCores !== null) {
    const dir = place('cpu');
    if (typeof dir !== 'string') return `--cpu-max cannot be applied: ${dir.problem}`;
    const quotaUs = String(Math.round(limits.cpuCores * CPU_PERIOD_US));
    const problem =
      dir === cgroup.path && v2 !== undefined
        ? writeControl(dir, 'cpu.max', cpuMaxLine(limits.cpuCores))
        : (writeControl(dir, 'cpu.cfs_period_us', String(CPU_PERIOD_US)) ?? writeControl(dir, 'cpu.cfs_quota_us', quotaUs));
    if (problem !== undefined) return `--cpu-max cannot be applied: ${problem}`;
  }
  return undefined;
}

/** `path` (a directory under the hierarchy's mount) as a path within the hierarchy. */
function withinHierarchy(path: string, hierarchy: Hierarchy): string {
  return path.slice(hierarchy.mount.replace(/\/+$/, '').length) || '/';
}

function cgroupAt(
  path: string,
  hierarchy: Hierarchy,
  limits: ResourceLimits = NO_LIMITS,
  sides: readonly SideCgroup[] = [],
): CommandCgroup {
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
    limits,
    spawnInside: <T>(start: () => T): T => {
      const entered: string[] = [];
      try {
        for (const side of sides) {
          writeFileSync(join(side.dir, 'cgroup.procs'), String(process.pid));
          entered.push(side.home);
        }
        writeFileSync(procs, String(process.pid));
        entered.push(home);
        return start();
      } finally {
        // Back home at once: nothing of ours may be killed or limited with the command.
        for (const back of entered) writeFileSync(back, String(process.pid));
      }
    },
    pids,
    oomKills: () => oomKillsIn([path, ...sides.map((side) => side.dir)]),
    signalAll,
    empty,
    remove: async () => {
      await empty();
      await removeDirectory(path);
      for (const side of sides) await removeDirectory(side.dir);
    },
  };
}

/** The oom_kill count of the first of `dirs` that has memory accounting (v2 memory.events, v1 memory.oom_control). */
function oomKillsIn(dirs: readonly string[]): number | null {
  for (const dir of dirs) {
    for (const file of ['memory.events', 'memory.oom_control']) {
      let text: string;
      try {
        text = readFileSync(join(dir, file), 'utf8');
      } catch {
        continue;
      }
      const values = parseKeyValues(text, file);
      if (values instanceof ProcParseError) return null;
      return values.get('oom_kill') ?? null;
    }
  }
  return null;
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
  const hierarchies = findHierarchies(root);
  const self = ownerTag(root, process.pid);
  if (typeof hierarchies === 'string' || self === undefined) return 0;
  const main = hierarchies.v2 ?? hierarchies.v1.pids ?? hierarchies.v1.cpu;
  if (main === undefined) return 0;
  // The main hierarchy first (its cgroups hold the processes), then the v1 ones that carried limits.
  const all = [main, ...Object.values(hierarchies.v1).filter((hierarchy) => hierarchy.mount !== main.mount)];
  const namespace = self.split('-')[2];
  const uid = process.geteuid?.();
  let swept = 0;
  for (const hierarchy of all) {
    const base = join(hierarchy.mount, BASE);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const owner = /^(\d+)-(\d+)-(\d+)-/.exec(name);
      if (owner === null || owner[3] !== namespace) continue;
      const path = join(base, name);
      if (!madeBy(path, uid)) continue;
      if (ownerState(root, Number(owner[1]), owner[2] ?? '') === 'alive') continue;
      await cgroupAt(path, hierarchy).remove();
      if (hierarchy === main) swept += 1;
    }
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
