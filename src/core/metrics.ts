import type { ProcessState } from './state.js';

/**
 * Units, everywhere in this package: CPU time in seconds, timestamps in ms since
 * the Unix epoch, durations in ms, sizes in bytes, rates per second.
 * `null` means "unknown": the collector could not read that field (permission,
 * platform, kernel); it never means zero.
 */

/** CPU times of one process instance, cumulative since that process started. */
export interface ProcessCPU {
  pid: number;
  /** When the sample was read, ms since epoch. */
  timestamp: number;
  /** User-mode CPU time, seconds. */
  user: number;
  /** Kernel-mode CPU time, seconds. */
  system: number;
  /** User CPU time of waited-for (reaped) children, seconds. */
  childrenUser: number;
  /** System CPU time of waited-for (reaped) children, seconds. */
  childrenSystem: number;
  /** When the process started, ms since epoch (0 when unknown). */
  startTime: number;
  /**
   * Percent of ONE core used since the previous sample of the same process
   * (user + system); may exceed 100 on several cores. The first sample of an
   * instance is the average since the process started.
   */
  usagePercent: number;
  /** User-mode share of `usagePercent`. */
  userPercent: number;
  /** Kernel-mode share of `usagePercent`. */
  systemPercent: number;
  /** CPUs this process may use (affinity, cgroup quota), possibly fractional; null when unknown. */
  cpusAvailable: number | null;
}

/** Memory of one process, bytes. */
export interface ProcessMemory {
  pid: number;
  /** ms since epoch. */
  timestamp: number;
  /** Resident set size. */
  rss: number;
  /** Virtual memory size. */
  vms: number | null;
  /** Resident shared pages (file-backed and shmem). */
  shared: number | null;
  /** Swapped-out anonymous memory. */
  swap: number | null;
  /** Data + stack segments as the kernel counts them (statm "data"). */
  data: number | null;
  /** Main thread stack. */
  stack: number | null;
  /**
   * Proportional set size: resident pages, each shared page divided among the
   * processes that map it, so a tree's or a group's sum counts shared memory
   * once. From /proc/PID/smaps_rollup, read at the collector's own (longer)
   * interval; null (or absent, from a collector that does not read it) where unknown.
   */
  pss?: number | null;
  /** Unique set size: the private resident pages, what exiting would free. Read with pss. */
  uss?: number | null;
  /** rss / total RAM x 100; 0 when total RAM is unknown. */
  usagePercent: number;
}

/** The figures only a cgroup itself knows, for a service tracked as a cgroup. */
export interface CgroupMetrics {
  /** The target's path, as given (relative to the hierarchy mounts). */
  path: string;
  /** memory.current (v2) or memory.usage_in_bytes (v1): all memory charged, page cache included; bytes. */
  memoryUsageBytes: number | null;
  /** memory.max (v2) or memory.limit_in_bytes (v1); null when unlimited or unknown; bytes. */
  memoryLimitBytes: number | null;
  /** cpu.stat nr_periods: CFS enforcement periods that elapsed while it had runnable tasks. */
  cpuPeriods: number | null;
  /** cpu.stat nr_throttled: periods in which it hit its quota. */
  cpuThrottledPeriods: number | null;
  /** cpu.stat throttled_usec (v2) or throttled_time (v1, ns): time throttled, seconds. */
  cpuThrottledSeconds: number | null;
  /** CPU bandwidth limit, in CPUs (cores, may be fractional): cpu.max (v2) or cpu.cfs_quota_us / cpu.cfs_period_us (v1); null when unlimited or unknown. */
  cpuLimitCores: number | null;
  /**
   * Processes of the cgroup and its descendants the kernel's OOM killer ended,
   * since the cgroup was made: memory.events `oom_kill` (v2) or
   * memory.oom_control `oom_kill` (v1, kernel 4.13 and later).
   */
  oomKills: number | null;
  /** Pressure stall information (v2 `*.pressure`); null where the kernel has none or no file could be read. */
  pressure: CgroupPressure | null;
}

/**
 * Cumulative time, in seconds, in which tasks of the cgroup were stalled
 * waiting for a resource: `some` while at least one task waited, `full` while
 * all non-idle tasks waited at once. null when the kernel does not report it
 * (cpu `full` before Linux 5.13).
 */
export interface StallSeconds {
  some: number | null;
  full: number | null;
}

/** The resources the kernel reports pressure for, each in a file `<resource>.pressure`. */
export const PRESSURE_RESOURCES = ['cpu', 'memory', 'io'] as const;
export type PressureResource = (typeof PRESSURE_RESOURCES)[number];

/** The `total=` figures of cpu.pressure, memory.pressure and io.pressure, in seconds. */
export type CgroupPressure = Record<PressureResource, StallSeconds>;

/** One snapshot of a tracked service. Snapshots handed out are copies. */
export interface ProcessMetrics {
  serviceName: string;
  /**
   * Extra labels of the service (`TrackOptions.labels`), carried on every
   * series that carries service.name. Frozen, and the same object from one
   * snapshot to the next until track() gives other labels; {} when none.
   */
  labels: Readonly<Record<string, string>>;
  /** 0 when not running. */
  pid: number;
  state: ProcessState;
  /**
   * True while the service is running and its health check, if it has one,
   * passes; with no check, healthy means running. Never true in any other state.
   */
  healthy: boolean;
  /** Why the last health check failed (exit code, timed out, cannot start, stderr tail); '' otherwise. */
  healthError: string;
  cpu: ProcessCPU;
  memory: ProcessMemory;
  numFDs: number | null;
  numThreads: number | null;
  /** Bytes read from storage per second since the previous sample. */
  readBytesPerSec: number | null;
  /** Bytes written to storage per second since the previous sample. */
  writeBytesPerSec: number | null;
  /** Bytes read from storage since the process started (/proc/PID/io read_bytes). */
  readBytes: number | null;
  /** Bytes written to storage since the process started (/proc/PID/io write_bytes). */
  writeBytes: number | null;
  voluntaryContextSwitches: number | null;
  involuntaryContextSwitches: number | null;
  majorFaults: number | null;
  minorFaults: number | null;
  /**
   * Processes the figures cover now: 1 for a single process, the live
   * processes of a tree (the process and its descendants) or of a cgroup; 0
   * when not running.
   */
  processCount: number;
  /** The cgroup's own figures for a service tracked as a cgroup; null otherwise. */
  cgroup: CgroupMetrics | null;
  /** Start of the current instance, ms since epoch; 0 when not running. */
  startTime: number;
  /** now - startTime while running, else 0; ms. */
  uptime: number;
  restartCount: number;
  /**
   * Processes of the service the kernel's OOM killer has ended since it was
   * first tracked: the kernel's own count for its cgroup where it has one
   * (memory.events oom_kill; v1 memory.oom_control), or as its supervisor
   * reported them (`Tracker.recordOomKills`), whichever is larger.
   */
  oomKills: number;
  /** Restarts its supervisor made because health checks kept failing (`Tracker.countHealthRestart`). */
  healthRestarts: number;
  /** '' when none. */
  lastError: string;
  /** When this snapshot was made, ms since epoch. */
  timestamp: number;
}

/** user + system, seconds. */
export function totalCPUSeconds(cpu: Pick<ProcessCPU, 'user' | 'system'>): number {
  return cpu.user + cpu.system;
}

/** user + system of the process and its reaped children, seconds. */
export function totalCPUSecondsWithChildren(cpu: Pick<ProcessCPU, 'user' | 'system' | 'childrenUser' | 'childrenSystem'>): number {
  return cpu.user + cpu.system + cpu.childrenUser + cpu.childrenSystem;
}

/** rss + swap, bytes (swap counted as 0 when unknown). */
export function totalResidentBytes(memory: Pick<ProcessMemory, 'rss' | 'swap'>): number {
  return memory.rss + (memory.swap ?? 0);
}

/**
 * CPU percent of one core between two samples of the SAME process:
 * delta(cpu seconds) / elapsed seconds x 100. 0 when no time passed or the
 * counter went backwards (which only a different process can do).
 */
export function cpuPercent(prevSeconds: number, curSeconds: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) return 0;
  const delta = curSeconds - prevSeconds;
  if (!(delta > 0)) return 0;
  return (delta / (elapsedMs / 1000)) * 100;
}

/** Per-second rate of a cumulative counter; null when either end is unknown. */
export function ratePerSecond(prev: number | null, cur: number | null, elapsedMs: number): number | null {
  if (prev === null || cur === null) return null;
  if (!(elapsedMs > 0) || cur < prev) return 0;
  return (cur - prev) / (elapsedMs / 1000);
}
