import type { ProcessCPU, ProcessMemory } from '../domain/metrics.js';

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
}

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

/** Which process to sample. `startTime` (ms since epoch), once known, pins the identity. */
export interface SampleTarget {
  pid: number;
  startTime?: number;
}

export type SampleOutcome = { ok: true; sample: ProcessSample } | { ok: false; error: Error };

/**
 * The port through which the tracker reads processes.
 *
 * The two methods of the seed are the minimum: a collector that only has them
 * works, sampled service by service. A collector that also implements `sample`
 * is sampled in one sweep per tick, which is how the /proc collector reaches its
 * speed. Either way, a process that does not exist (or whose pid now belongs to
 * another process) must be reported with a `ProcessNotFoundError`.
 */
export interface Collector {
  collectCPU(pid: number, signal?: AbortSignal): Promise<ProcessCPU>;
  collectMemory(pid: number, signal?: AbortSignal): Promise<ProcessMemory>;

  /**
   * Samples every target in one sweep; outcomes in the same order as targets.
   * A target whose `startTime` no longer matches the process at that pid is a
   * `ProcessNotFoundError`. Must not reject as a whole for one bad pid.
   */
  sample?(targets: readonly SampleTarget[], signal?: AbortSignal): Promise<SampleOutcome[]>;

  /** The tracker no longer follows this pid: drop anything held for it (fds, history). */
  release?(pid: number): void;

  /**
   * Read failures counted by kind, e.g. `io:EACCES` -> 12. Failures of single
   * fields are counted here instead of being logged on every tick.
   */
  errorCounts?(): ReadonlyMap<string, number>;

  /** Releases everything the collector holds. */
  close?(): void | Promise<void>;
}
