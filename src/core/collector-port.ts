import { UnsupportedTargetError } from './errors.js';
import type { GroupAssignment, GroupTarget, ProcessGrouping } from './groups.js';
import type { CgroupMetrics, ProcessCPU, ProcessMemory } from './metrics.js';

/**
 * Everything a collector can read about one process in one pass. Cumulative
 * counters are since the process started; `null` marks a field the collector
 * could not read (permission, platform), never zero.
 */
export interface ProcessSample {
  pid: number;
  /** When it was read, ms since epoch. */
  timestamp: number;
  /** Process start, ms since epoch; with `pid` it identifies the process (0 when unknown). */
  startTime: number;
  /** CPU seconds, cumulative. */
  cpu: {
    user: number;
    system: number;
    childrenUser: number;
    childrenSystem: number;
  };
  /** CPUs the process may use (affinity, cgroup quota); null when unknown. */
  cpusAvailable: number | null;
  /** Bytes. */
  memory: {
    rss: number;
    vms: number | null;
    shared: number | null;
    swap: number | null;
    data: number | null;
    stack: number | null;
    /** Proportional and unique set sizes (smaps_rollup); null or absent where unknown. */
    pss?: number | null;
    uss?: number | null;
  };
  numThreads: number | null;
  numFDs: number | null;
  /** Storage bytes, cumulative. */
  readBytes: number | null;
  writeBytes: number | null;
  voluntaryContextSwitches: number | null;
  involuntaryContextSwitches: number | null;
  majorFaults: number | null;
  minorFaults: number | null;
  /**
   * Processes the figures cover: 1 for a single process, the live processes of
   * a tree or a cgroup. Absent means 1.
   */
  processCount?: number;
  /** The cgroup's own accounting, for a cgroup target; absent or null otherwise. */
  cgroup?: CgroupReading | null;
}

/** What a cgroup target adds to its sample: the figures only the cgroup itself knows. */
export type CgroupReading = CgroupMetrics;

/** The per-process extras of a sample, all unknown: for collectors that read only CPU and memory. */
export const UNKNOWN_EXTRAS = {
  numThreads: null,
  numFDs: null,
  readBytes: null,
  writeBytes: null,
  voluntaryContextSwitches: null,
  involuntaryContextSwitches: null,
  majorFaults: null,
  minorFaults: null,
} as const satisfies Partial<ProcessSample>;

/**
 * What the tracker asks a collector to read: an identity the collector resolves
 * and reports as one sample. One process (the pid pinned to one instance by its
 * start time once known), that process with its live descendants
 * (`descendants`), or a cgroup (`cgroup`, with `pid` 0).
 */
export interface SampleTarget {
  /** The process, or the tree's root; 0 for a cgroup target. */
  pid: number;
  /** Process start, ms since epoch; a process at `pid` that started at another time is not this target. */
  startTime?: number;
  /**
   * Sum the live descendants into the sample, with the CPU of reaped ones.
   * Collectors that cannot see descendants read the process alone (processCount 1).
   */
  descendants?: boolean;
  /**
   * A cgroup path, e.g. `/system.slice/api.service`: read from the cgroup's own
   * accounting. Collectors without cgroup support answer with an error.
   */
  cgroup?: string;
  /**
   * A group of processes (with `pid` 0): every process the grouping assigns to
   * the group, read as one sample whose processCount is the group's size (0
   * for a group with no process now). Collectors that cannot list processes
   * answer with an error.
   */
  group?: GroupTarget;
}

export type SampleOutcome = { ok: true; sample: ProcessSample } | { ok: false; error: Error };

/**
 * The port through which the tracker reads processes: one batch call per tick.
 * A process that does not exist (or whose pid now belongs to another process)
 * is reported with a `ProcessNotFoundError`; any other failure (EMFILE, EACCES,
 * a parse error) is an error of the collector, which the tracker counts and
 * never reads as an exit.
 *
 * A collector that only has the original per-pid pair, `collectCPU` and
 * `collectMemory`, is accepted too: see `PerPidCollector`.
 */
export interface Collector {
  /**
   * Samples every target in one sweep; outcomes in the same order as targets.
   * Must not reject as a whole for one bad target. When `signal` aborts, settle
   * promptly with what was read and a timeout for the rest: the tracker waits
   * one turn of the event loop for that, then counts every target as timed out.
   */
  sample(targets: readonly SampleTarget[], signal?: AbortSignal): Promise<SampleOutcome[]>;

  /**
   * Reads ahead what a sample of `targets` shares and can take long on a
   * large host (for the /proc collector: the walk over every process that
   * finds descendants), so that the sample that follows has its budget for the
   * targets themselves. The tracker calls it, without a time budget, before
   * reading the first samples of track() calls. Never rejects: a failure is
   * the sample's to report.
   */
  prepare?(targets: readonly SampleTarget[]): Promise<void>;

  /**
   * How `grouping` splits the host's processes now; for discovery. Only
   * collectors that list processes have it. Rejects when the processes cannot
   * be listed.
   */
  assignGroups?(grouping: ProcessGrouping): Promise<GroupAssignment>;

  /** The tracker no longer follows this pid: drop anything held for it (fds, history). */
  release?(pid: number): void;

  /**
   * Read failures counted by kind, e.g. `io:EACCES` -> 12. Failures of single
   * fields are counted here instead of being logged on every tick.
   */
  errorCounts?(): ReadonlyMap<string, number>;

  /** File descriptors it holds open now, for self-monitoring. */
  openFds?(): number;

  /** Releases everything the collector holds. */
  close?(): void | Promise<void>;
}

/**
 * The original contract: CPU and memory of one pid per call. The tracker
 * adapts it to `Collector` (see `perPidCollector`); CPU percentages it returns
 * are ignored, since the tracker computes them from two samples of the same
 * process. Either call may reject with `ProcessNotFoundError`.
 */
export interface PerPidCollector {
  collectCPU(pid: number, signal?: AbortSignal): Promise<ProcessCPU>;
  collectMemory(pid: number, signal?: AbortSignal): Promise<ProcessMemory>;
  release?(pid: number): void;
  errorCounts?(): ReadonlyMap<string, number>;
  close?(): void | Promise<void>;
}

/** For collectors that read single processes only: why a cgroup or group target cannot be read, or undefined. */
export function unsupportedTarget(target: SampleTarget): UnsupportedTargetError | undefined {
  if (target.cgroup !== undefined) {
    return new UnsupportedTargetError(`cgroup ${target.cgroup}: this collector reads processes only; cgroup targets need ProcfsCollector`);
  }
  if (target.group !== undefined) {
    return new UnsupportedTargetError(
      `group ${target.group.group}: this collector cannot list processes; group targets need ProcfsCollector`,
    );
  }
  return undefined;
}
