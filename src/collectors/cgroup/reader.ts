import { existsSync, readdirSync, statSync } from 'node:fs';
import { CgroupNotFoundError, CgroupReadError, UnsupportedTargetError } from '../../core/errors.js';
import type { CgroupReading, ProcessSample, SampleOutcome } from '../../core/collector-port.js';
import type { ErrorCounts } from '../../core/error-counts.js';
import { ProcParseError } from '../procfs/parse-error.js';
import { parseStat } from '../procfs/parse-stat.js';
import { isGone, startTimeMs } from '../procfs/process-table.js';
import { readSmallFile } from '../procfs/read-text.js';
import type { CgroupMounts } from './mounts.js';
import { parseIoStat, parseKeyValues, parseMemoryLimit, parsePidList, parsePressure, parseSingleNumber } from './parse.js';
import { parseCfsQuota, parseCpuMax } from '../procfs/parse-cgroup.js';
import { PRESSURE_RESOURCES, type CgroupPressure, type PressureResource } from '../../core/metrics.js';
import type { HostRoot } from '../procfs/host-root.js';

/** What the reader needs from the /proc side: how to date a process and size its memory. */
export interface ProcFacts {
  root: HostRoot;
  bootTimeMs: number;
  clockTicksPerSecond: number;
  pageSizeBytes: number;
  errors: ErrorCounts;
  /** CPUs available to a process (affinity, quotas); null when unknown. */
  cpusOf(pid: number): number | null;
  /**
   * One member process read as the /proc collector reads it; null when it is
   * gone. For the figures a cgroup has no accounting of (fds, context switches,
   * and on hybrid hosts threads, memory, faults or I/O), which are then summed
   * over its processes.
   */
  readProcess(pid: number): ProcessSample | null;
}

/** The per-process figures a cgroup may lack, summed over its processes. */
type Summable =
  | 'numThreads'
  | 'numFDs'
  | 'readBytes'
  | 'writeBytes'
  | 'voluntaryContextSwitches'
  | 'involuntaryContextSwitches'
  | 'majorFaults'
  | 'minorFaults';

/** A sum over samples; null when no sample knew the figure. */
function sumOf(samples: readonly ProcessSample[], read: (sample: ProcessSample) => number | null): number | null {
  let total: number | null = null;
  for (const sample of samples) {
    const value = read(sample);
    if (value !== null) total = (total ?? 0) + value;
  }
  return total;
}

/** The directories one target path names, per figure; null where no hierarchy has it. */
interface Dirs {
  /** Where the processes are listed (the first hierarchy that has the cgroup). */
  procs: string;
  cpu: { dir: string; version: 1 | 2 } | null;
  /** v1 cpu controller's directory (throttling), when the v2 cpu.stat lacks it. */
  cpuV1: string | null;
  memory: { dir: string; version: 1 | 2 } | null;
  pids: string | null;
  io: string | null;
  /** memory.events (v2) or memory.oom_control (v1): both have `oom_kill`. */
  oom: { file: string; name: string } | null;
  /** Where the CPU bandwidth limit is: cpu.max (v2) or cpu.cfs_quota_us and cpu.cfs_period_us (v1). */
  cpuLimit: { dir: string; version: 1 | 2 } | null;
  /** The v2 `<resource>.pressure` files present (the kernel has PSI); empty when none. */
  pressure: ReadonlyArray<{ resource: PressureResource; file: string }>;
}

const NS = 1e9;
const MAX_CACHED_PATHS = 4096;
const US = 1e6;

/**
 * Reads cgroup targets from the cgroup's own accounting. The target path is
 * looked up in every mounted hierarchy (v2, and v1 cpuacct, cpu, memory and
 * pids); each figure comes from the first that has it. Processes are those
 * listed in cgroup.procs of the cgroup and all its descendants.
 */
export class CgroupReader {
  readonly #dirs = new Map<string, Dirs>();
  /** The process shown as the service's pid, kept while it lives: the oldest when chosen. */
  readonly #oldest = new Map<string, { pid: number; startTime: number }>();

  constructor(
    private readonly mounts: CgroupMounts,
    private readonly proc: ProcFacts,
  ) {}

  read(path: string): SampleOutcome {
    let dirs = this.#dirs.get(path) ?? this.#resolve(path);
    if (dirs === undefined) return { ok: false, error: this.#notFound(path) };
    let pids: number[] | null;
    try {
      pids = this.#pids(dirs.procs);
    } catch (error) {
      if (!isGone(error)) return this.#failed('cgroup.procs', path, 'cannot read cgroup.procs', error);
      // Removed, or removed and made again: look it up afresh once.
      this.#dirs.delete(path);
      dirs = this.#resolve(path);
      pids = dirs === undefined ? null : this.#pidsOrNull(dirs.procs);
    }
    if (dirs === undefined || pids === null) return { ok: false, error: this.#notFound(path) };
    const timestamp = Date.now();
    if (dirs.cpu === null) {
      return {
        ok: false,
        error: new UnsupportedTargetError(`cgroup ${path}: no CPU accounting (cpu.stat in v2, cpuacct in v1) in any mounted hierarchy`),
      };
    }
    const oldest = this.#oldestOf(path, pids);
    if (oldest === undefined) return { ok: false, error: new CgroupNotFoundError(path, 'has no process') };

    const cpu = this.#cpu(dirs.cpu);
    if (cpu === null) return this.#failed('cpu', path, 'cannot read its CPU time', null);
    const memory = this.#memory(dirs.memory);
    const io = dirs.io === null ? null : this.#parsed(`${dirs.io}/io.stat`, 'io.stat', parseIoStat);
    const tasks =
      dirs.pids === null ? null : this.#parsed(`${dirs.pids}/pids.current`, 'pids.current', (t) => parseSingleNumber(t, 'pids.current'));
    const cgroup: CgroupReading = {
      path,
      memoryUsageBytes: memory.usage,
      memoryLimitBytes: memory.limit,
      cpuPeriods: cpu.periods,
      cpuThrottledPeriods: cpu.throttledPeriods,
      cpuThrottledSeconds: cpu.throttledSeconds,
      cpuLimitCores: dirs.cpuLimit === null ? null : this.#cpuLimit(dirs.cpuLimit),
      oomKills: dirs.oom === null ? null : this.#oomKills(dirs.oom),
      pressure: this.#pressure(dirs.pressure),
    };
    if (cgroup.cpuPeriods === null && dirs.cpuV1 !== null) this.#throttlingV1(dirs.cpuV1, cgroup);
    const own: Pick<ProcessSample, Summable> = {
      numThreads: tasks,
      numFDs: null,
      readBytes: io ? io.readBytes : null,
      writeBytes: io ? io.writeBytes : null,
      voluntaryContextSwitches: null,
      involuntaryContextSwitches: null,
      majorFaults: memory.majorFaults,
      minorFaults: memory.minorFaults,
    };
    // What the cgroup does not account for itself (virtual size, fds, context switches, ...) comes
    // from its processes, read one by one.
    const members = pids.map((pid) => this.proc.readProcess(pid)).filter((m): m is ProcessSample => m !== null);
    const summed = (key: Summable): number | null => own[key] ?? sumOf(members, (m) => m[key]);
    const sample: ProcessSample = {
      pid: oldest.pid,
      timestamp,
      startTime: oldest.startTime,
      cpu: { user: cpu.user, system: cpu.system, childrenUser: 0, childrenSystem: 0 },
      cpusAvailable: this.proc.cpusOf(oldest.pid),
      memory: {
        // No memory controller for this cgroup: the resident memory of its processes.
        rss: memory.rss ?? sumOf(members, (m) => m.memory.rss) ?? 0,
        // A cgroup has no virtual size of its own: the processes' address spaces, summed.
        vms: sumOf(members, (m) => m.memory.vms),
        shared: null,
        swap: memory.swap,
        data: null,
        stack: null,
      },
      numThreads: summed('numThreads'),
      numFDs: summed('numFDs'),
      readBytes: summed('readBytes'),
      writeBytes: summed('writeBytes'),
      voluntaryContextSwitches: summed('voluntaryContextSwitches'),
      involuntaryContextSwitches: summed('involuntaryContextSwitches'),
      majorFaults: summed('majorFaults'),
      minorFaults: summed('minorFaults'),
      processCount: pids.length,
      cgroup,
    };
    return { ok: true, sample };
  }

  #resolve(path: string): Dirs | undefined {
    const under = (mount: string | undefined): string | null => {
      if (mount === undefined) return null;
      const dir = path === '/' ? mount : mount + path;
      // A control file (`/cgroup.procs`) exists too, but is no cgroup.
      return isDirectory(dir) ? dir : null;
    };
    const v2 = under(this.mounts.v2);
    const cpuacct = under(this.mounts.cpuacct);
    const cpuV1 = under(this.mounts.cpu);
    const memoryV1 = under(this.mounts.memory);
    const pidsV1 = under(this.mounts.pids);
    const procs = v2 ?? cpuacct ?? memoryV1 ?? pidsV1 ?? cpuV1;
    if (procs === null) return undefined;
    const has = (dir: string | null, file: string): dir is string => dir !== null && existsSync(`${dir}/${file}`);
    const dirs: Dirs = {
      procs,
      cpu: has(v2, 'cpu.stat') ? { dir: v2, version: 2 } : cpuacct !== null ? { dir: cpuacct, version: 1 } : null,
      cpuV1: has(cpuV1, 'cpu.stat') ? cpuV1 : null,
      memory: has(v2, 'memory.current')
        ? { dir: v2, version: 2 }
        : has(memoryV1, 'memory.usage_in_bytes')
          ? { dir: memoryV1, version: 1 }
          : null,
      pids: has(v2, 'pids.current') ? v2 : has(pidsV1, 'pids.current') ? pidsV1 : null,
      io: has(v2, 'io.stat') ? v2 : null,
      // memory.events over memory.events.local: it counts the kills in the cgroups below too.
      oom: has(v2, 'memory.events')
        ? { file: `${v2}/memory.events`, name: 'memory.events' }
        : has(memoryV1, 'memory.oom_control')
          ? { file: `${memoryV1}/memory.oom_control`, name: 'memory.oom_control' }
          : null,
      cpuLimit: has(v2, 'cpu.max') ? { dir: v2, version: 2 } : has(cpuV1, 'cpu.cfs_quota_us') ? { dir: cpuV1, version: 1 } : null,
      // Core files of every v2 cgroup, controllers or not, where the kernel has PSI.
      pressure: PRESSURE_RESOURCES.filter((resource) => has(v2, `${resource}.pressure`)).map((resource) => ({
        resource,
        file: `${v2 as string}/${resource}.pressure`,
      })),
    };
    // Paths tracked once and never again must not pile up: a cache this large is started afresh.
    if (this.#dirs.size >= MAX_CACHED_PATHS) {
      this.#dirs.clear();
      this.#oldest.clear();
    }
    this.#dirs.set(path, dirs);
    return dirs;
  }

  /** The pids in `dir` and every cgroup below it. Throws when `dir` itself cannot be read. */
  #pids(dir: string): number[] {
    const pids: number[] = [];
    const visit = (at: string, top: boolean): void => {
      let text: string;
      try {
        text = readSmallFile(`${at}/cgroup.procs`);
      } catch (error) {
        if (top) throw error;
        return; // a child cgroup removed meanwhile
      }
      const listed = parsePidList(text);
      if (listed instanceof ProcParseError) this.proc.errors.add('cgroup.procs', listed);
      else pids.push(...listed);
      let entries;
      try {
        entries = readdirSync(at, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) if (entry.isDirectory()) visit(`${at}/${entry.name}`, false);
    };
    visit(dir, true);
    return pids;
  }

  #pidsOrNull(dir: string): number[] | null {
    try {
      return this.#pids(dir);
    } catch {
      return null;
    }
  }

  /**
   * The process the service is shown as: the one chosen before while it is
   * still in the cgroup, else the oldest now (lowest start, then lowest pid).
   */
  #oldestOf(path: string, pids: readonly number[]): { pid: number; startTime: number } | undefined {
    const kept = this.#oldest.get(path);
    if (kept !== undefined && pids.includes(kept.pid) && this.#startOf(kept.pid) === kept.startTime) return kept;
    let best: { pid: number; startTime: number } | undefined;
    for (const pid of pids) {
      const startTime = this.#startOf(pid);
      if (startTime === null) continue;
      if (best === undefined || startTime < best.startTime || (startTime === best.startTime && pid < best.pid)) {
        best = { pid, startTime };
      }
    }
    if (best === undefined) this.#oldest.delete(path);
    else this.#oldest.set(path, best);
    return best;
  }

  /** Start of a live process, ms since epoch; null when it is gone or a zombie. */
  #startOf(pid: number): number | null {
    try {
      const stat = parseStat(readSmallFile(this.proc.root.pid(pid, 'stat')));
      if (stat instanceof ProcParseError || stat.state === 'Z' || stat.state === 'X') return null;
      return startTimeMs(this.proc.bootTimeMs, stat.startTicks, this.proc.clockTicksPerSecond);
    } catch {
      return null;
    }
  }

  #cpu(source: { dir: string; version: 1 | 2 }): {
    user: number;
    system: number;
    periods: number | null;
    throttledPeriods: number | null;
    throttledSeconds: number | null;
  } | null {
    if (source.version === 2) {
      const stat = this.#parsed(`${source.dir}/cpu.stat`, 'cpu.stat', (t) => parseKeyValues(t, 'cpu.stat'));
      const user = stat?.get('user_usec');
      const system = stat?.get('system_usec');
      if (stat === null || user === undefined || system === undefined) return null;
      const throttled = stat.get('throttled_usec');
      return {
        user: user / US,
        system: system / US,
        periods: stat.get('nr_periods') ?? null,
        throttledPeriods: stat.get('nr_throttled') ?? null,
        throttledSeconds: throttled === undefined ? null : throttled / US,
      };
    }
    // cpuacct.usage (ns) is the exact total: it agrees with v2's cpu.stat and with the processes'
    // own times. cpuacct.usage_user + usage_sys run some 15-20 % above it on this kernel, so they,
    // or else cpuacct.stat's clock ticks, only say how the total splits into user and system.
    const number = (file: string): number | null =>
      existsSync(`${source.dir}/${file}`) ? this.#parsed(`${source.dir}/${file}`, file, (t) => parseSingleNumber(t, file)) : null;
    const stat = (): Map<string, number> | null =>
      this.#parsed(`${source.dir}/cpuacct.stat`, 'cpuacct.stat', (t) => parseKeyValues(t, 'cpuacct.stat'));
    const totalNs = number('cpuacct.usage');
    let userPart = number('cpuacct.usage_user');
    let systemPart = number('cpuacct.usage_sys');
    if (userPart === null || systemPart === null) {
      const ticks = stat();
      userPart = ticks?.get('user') ?? null;
      systemPart = ticks?.get('system') ?? null;
      if (totalNs === null && userPart !== null && systemPart !== null) {
        const hz = this.proc.clockTicksPerSecond;
        return { user: userPart / hz, system: systemPart / hz, periods: null, throttledPeriods: null, throttledSeconds: null };
      }
    }
    if (totalNs === null) return null;
    const parts = (userPart ?? 0) + (systemPart ?? 0);
    const userShare = parts > 0 ? (userPart ?? 0) / parts : 1;
    const total = totalNs / NS;
    return { user: total * userShare, system: total * (1 - userShare), periods: null, throttledPeriods: null, throttledSeconds: null };
  }

  /** v1 cpu.stat: nr_periods, nr_throttled, throttled_time (ns). */
  #throttlingV1(dir: string, into: CgroupReading): void {
    const stat = this.#parsed(`${dir}/cpu.stat`, 'cpu.stat', (t) => parseKeyValues(t, 'cpu.stat'));
    if (stat === null) return;
    const throttled = stat.get('throttled_time');
    into.cpuPeriods = stat.get('nr_periods') ?? null;
    into.cpuThrottledPeriods = stat.get('nr_throttled') ?? null;
    into.cpuThrottledSeconds = throttled === undefined ? null : throttled / NS;
  }

  /** CPUs the cgroup's quota allows per period; null when unlimited or unreadable. */
  #cpuLimit(source: { dir: string; version: 1 | 2 }): number | null {
    if (source.version === 2) return this.#parsed(`${source.dir}/cpu.max`, 'cpu.max', parseCpuMax);
    const period = this.#parsed(`${source.dir}/cpu.cfs_period_us`, 'cpu.cfs_period_us', (t) => t);
    if (period === null) return null;
    return this.#parsed(`${source.dir}/cpu.cfs_quota_us`, 'cpu.cfs_quota_us', (quota) => parseCfsQuota(quota, period));
  }

  /** `oom_kill` of memory.events or memory.oom_control; null on a kernel without the key. */
  #oomKills(source: { file: string; name: string }): number | null {
    const values = this.#parsed(source.file, source.name, (t) => parseKeyValues(t, source.name));
    return values?.get('oom_kill') ?? null;
  }

  /** Stall totals of each pressure file there is; null when none could be read. */
  #pressure(files: Dirs['pressure']): CgroupPressure | null {
    if (files.length === 0) return null;
    const pressure: CgroupPressure = {
      cpu: { some: null, full: null },
      memory: { some: null, full: null },
      io: { some: null, full: null },
    };
    let read = false;
    for (const { resource, file } of files) {
      const name = `${resource}.pressure`;
      const stall = this.#parsed(file, name, (t) => parsePressure(t, name));
      if (stall === null) continue;
      pressure[resource] = stall;
      read = true;
    }
    return read ? pressure : null;
  }

  /**
   * Memory as the cgroup charges it. `rss` is anonymous plus mapped file
   * memory (what the processes' RSS counts, shared pages once); `usage`
   * includes the page cache. v1 reads the hierarchical `total_` keys.
   */
  #memory(source: { dir: string; version: 1 | 2 } | null): {
    usage: number | null;
    limit: number | null;
    rss: number | null;
    swap: number | null;
    majorFaults: number | null;
    minorFaults: number | null;
  } {
    if (source === null) return { usage: null, limit: null, rss: null, swap: null, majorFaults: null, minorFaults: null };
    const v2 = source.version === 2;
    const file = (name: string): string => `${source.dir}/${name}`;
    const usageFile = v2 ? 'memory.current' : 'memory.usage_in_bytes';
    const limitFile = v2 ? 'memory.max' : 'memory.limit_in_bytes';
    const usage = this.#parsed(file(usageFile), usageFile, (t) => parseSingleNumber(t, usageFile));
    const limit = this.#parsed(file(limitFile), limitFile, (t) => parseMemoryLimit(t, limitFile));
    const stat = this.#parsed(file('memory.stat'), 'memory.stat', (t) => parseKeyValues(t, 'memory.stat'));
    const key = (v2Key: string, v1Key: string): number | undefined =>
      v2 ? stat?.get(v2Key) : (stat?.get(`total_${v1Key}`) ?? stat?.get(v1Key));
    const anon = key('anon', 'rss');
    const mapped = key('file_mapped', 'mapped_file');
    const faults = key('pgfault', 'pgfault');
    const majorFaults = key('pgmajfault', 'pgmajfault');
    let swap: number | null = null;
    if (v2 && existsSync(file('memory.swap.current'))) {
      swap = this.#parsed(file('memory.swap.current'), 'memory.swap.current', (t) => parseSingleNumber(t, 'memory.swap.current'));
    } else if (!v2) {
      swap = key('', 'swap') ?? null;
    }
    return {
      usage,
      limit,
      rss: anon === undefined ? null : anon + (mapped ?? 0),
      swap,
      majorFaults: majorFaults ?? null,
      minorFaults: faults === undefined || majorFaults === undefined ? null : Math.max(0, faults - majorFaults),
    };
  }

  /** A file parsed; null (and counted under `cgroup-FILE:CODE`) when it cannot be read or parsed. */
  #parsed<T>(path: string, name: string, parse: (text: string) => T | ProcParseError): T | null {
    try {
      const value = parse(readSmallFile(path));
      if (!(value instanceof ProcParseError)) return value;
      this.proc.errors.add(`cgroup-${name}`, value);
    } catch (error) {
      this.proc.errors.add(`cgroup-${name}`, error);
    }
    return null;
  }

  /** Counted under `cgroup-SOURCE:CODE`, and a CgroupReadError naming the cgroup and the system error. */
  #failed(source: string, path: string, detail: string, error: unknown): SampleOutcome {
    if (error !== null) this.proc.errors.add(`cgroup-${source}`, error);
    const code = (error as NodeJS.ErrnoException | null)?.code;
    return { ok: false, error: new CgroupReadError(path, code === undefined ? detail : `${detail} (${code})`, { cause: error }) };
  }

  /** No hierarchy has a directory at `path`; a file there (a control file) is said to be one. */
  #notFound(path: string): CgroupNotFoundError {
    const mounts = [this.mounts.v2, this.mounts.cpuacct, this.mounts.cpu, this.mounts.memory, this.mounts.pids];
    const file = mounts.some((mount) => mount !== undefined && path !== '/' && existsSync(mount + path));
    return new CgroupNotFoundError(path, file ? 'is a file, not a cgroup directory' : 'no such cgroup');
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
