import { cpuPercent, ratePerSecond, type ProcessMetrics } from '../core/metrics.js';
import { ProcessState } from '../core/state.js';
import type { ProcessSample } from '../core/collector-port.js';

/** What a service is, apart from its numbers. */
export interface ServiceStatus {
  serviceName: string;
  /** Frozen; the same object until track() gives other labels. */
  labels: Readonly<Record<string, string>>;
  state: ProcessState;
  /** The health the supervisor last reported (true until told otherwise); see `isHealthy`. */
  healthy: boolean;
  restartCount: number;
  /** Processes of the service the kernel's OOM killer ended (see ProcessMetrics.oomKills). */
  oomKills: number;
  /** Restarts its supervisor made because health checks failed. */
  healthRestarts: number;
  lastError: string;
  /** Why the last health check failed; '' when it passed or there is none. */
  healthError: string;
}

/**
 * A service is healthy while it runs and the supervisor has not reported it
 * unhealthy: with no health check, healthy means running. Starting, stopping,
 * stopped and failed services are never healthy.
 */
function isHealthy(status: ServiceStatus): boolean {
  return status.healthy && status.state === ProcessState.Running;
}

/** The previous reading of one process instance, for rates. */
export interface Baseline {
  /** ms since epoch. */
  timestamp: number;
  userSeconds: number;
  systemSeconds: number;
  readBytes: number | null;
  writeBytes: number | null;
}

/**
 * The baseline of a process never sampled before: every counter was zero when
 * it started, so its first rates are averages over its lifetime so far.
 * Without a start time there is nothing to measure from, and rates start at 0.
 */
export function lifetimeBaseline(sample: ProcessSample): Baseline {
  const known = sample.startTime > 0 && sample.startTime <= sample.timestamp;
  return known ? { timestamp: sample.startTime, userSeconds: 0, systemSeconds: 0, readBytes: 0, writeBytes: 0 } : baselineOf(sample);
}

export function baselineOf(sample: ProcessSample): Baseline {
  return {
    timestamp: sample.timestamp,
    userSeconds: sample.cpu.user,
    systemSeconds: sample.cpu.system,
    readBytes: sample.readBytes,
    writeBytes: sample.writeBytes,
  };
}

/**
 * A snapshot of a running process from its latest sample and the baseline of
 * the same instance. `startTime` is the process's own start when the collector
 * knows it, else when tracking began.
 */
export function snapshotFromSample(
  status: ServiceStatus,
  sample: ProcessSample,
  baseline: Baseline,
  startTime: number,
  totalMemoryBytes: number,
): ProcessMetrics {
  const elapsedMs = sample.timestamp - baseline.timestamp;
  const { cpu, memory } = sample;
  const userPercent = cpuPercent(baseline.userSeconds, cpu.user, elapsedMs);
  const systemPercent = cpuPercent(baseline.systemSeconds, cpu.system, elapsedMs);
  return {
    // Named one by one: V8 builds a literal that starts with a spread and then
    // adds keys of its own on a slow path, ~45 us instead of well under 1 us,
    // which at thousands of services would be most of a tick.
    serviceName: status.serviceName,
    labels: status.labels,
    state: status.state,
    healthy: isHealthy(status),
    restartCount: status.restartCount,
    oomKills: status.oomKills,
    healthRestarts: status.healthRestarts,
    lastError: status.lastError,
    healthError: status.healthError,
    pid: sample.pid,
    cpu: {
      pid: sample.pid,
      timestamp: sample.timestamp,
      user: cpu.user,
      system: cpu.system,
      childrenUser: cpu.childrenUser,
      childrenSystem: cpu.childrenSystem,
      startTime,
      usagePercent: cpuPercent(baseline.userSeconds + baseline.systemSeconds, cpu.user + cpu.system, elapsedMs),
      userPercent,
      systemPercent,
      cpusAvailable: sample.cpusAvailable,
    },
    memory: {
      pid: sample.pid,
      timestamp: sample.timestamp,
      rss: memory.rss,
      vms: memory.vms,
      shared: memory.shared,
      swap: memory.swap,
      data: memory.data,
      stack: memory.stack,
      pss: memory.pss ?? null,
      uss: memory.uss ?? null,
      usagePercent: totalMemoryBytes > 0 ? (memory.rss / totalMemoryBytes) * 100 : 0,
    },
    numFDs: sample.numFDs,
    numThreads: sample.numThreads,
    readBytesPerSec: ratePerSecond(baseline.readBytes, sample.readBytes, elapsedMs),
    writeBytesPerSec: ratePerSecond(baseline.writeBytes, sample.writeBytes, elapsedMs),
    readBytes: sample.readBytes,
    writeBytes: sample.writeBytes,
    voluntaryContextSwitches: sample.voluntaryContextSwitches,
    involuntaryContextSwitches: sample.involuntaryContextSwitches,
    majorFaults: sample.majorFaults,
    minorFaults: sample.minorFaults,
    processCount: sample.processCount ?? 1,
    cgroup: sample.cgroup ? { ...sample.cgroup } : null,
    startTime,
    uptime: Math.max(0, sample.timestamp - startTime),
    timestamp: sample.timestamp,
  };
}

/** A service with no live process: pid 0, every number zero. */
export function idleSnapshot(status: ServiceStatus, now: number): ProcessMetrics {
  return {
    serviceName: status.serviceName,
    labels: status.labels,
    state: status.state,
    healthy: isHealthy(status),
    restartCount: status.restartCount,
    oomKills: status.oomKills,
    healthRestarts: status.healthRestarts,
    lastError: status.lastError,
    healthError: status.healthError,
    pid: 0,
    cpu: {
      pid: 0,
      timestamp: now,
      user: 0,
      system: 0,
      childrenUser: 0,
      childrenSystem: 0,
      startTime: 0,
      usagePercent: 0,
      userPercent: 0,
      systemPercent: 0,
      cpusAvailable: null,
    },
    memory: { pid: 0, timestamp: now, rss: 0, vms: 0, shared: 0, swap: 0, data: 0, stack: 0, pss: 0, uss: 0, usagePercent: 0 },
    numFDs: 0,
    numThreads: 0,
    readBytesPerSec: 0,
    writeBytesPerSec: 0,
    readBytes: 0,
    writeBytes: 0,
    voluntaryContextSwitches: 0,
    involuntaryContextSwitches: 0,
    majorFaults: 0,
    minorFaults: 0,
    processCount: 0,
    cgroup: null,
    startTime: 0,
    uptime: 0,
    timestamp: now,
  };
}

/** The same snapshot with new status fields and timestamp (uptime follows the clock). */
export function restamped(snapshot: ProcessMetrics, status: ServiceStatus, now: number): ProcessMetrics {
  const uptime = snapshot.pid > 0 && snapshot.startTime > 0 ? Math.max(0, now - snapshot.startTime) : 0;
  return { ...snapshot, ...status, healthy: isHealthy(status), uptime, timestamp: now };
}

/** A copy the caller may mutate freely. */
export function copySnapshot(snapshot: ProcessMetrics): ProcessMetrics {
  return {
    ...snapshot,
    cpu: { ...snapshot.cpu },
    memory: { ...snapshot.memory },
    cgroup: snapshot.cgroup && { ...snapshot.cgroup },
  };
}
