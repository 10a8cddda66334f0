import type { Attributes } from '@opentelemetry/api';
import { DataPointType, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ProcessMetrics } from '../../src/core/metrics.js';
import { emptyStats } from '../../src/core/stats.js';
import type { TrackerStats } from '../../src/tracker/types.js';
import type { SnapshotSource } from '../../src/metrics/instruments.js';

/** A snapshot of a running service with every field known; override what a test is about. */
export function fakeSnapshot(overrides: Partial<ProcessMetrics> = {}): ProcessMetrics {
  const pid = overrides.pid ?? 4242;
  const now = Date.now();
  return {
    serviceName: 'web',
    labels: {},
    pid,
    state: 'running',
    healthy: true,
    healthError: '',
    cpu: {
      pid,
      timestamp: now,
      user: 1.5,
      system: 0.25,
      childrenUser: 0,
      childrenSystem: 0,
      startTime: now - 60_000,
      usagePercent: 75,
      userPercent: 50,
      systemPercent: 25,
      cpusAvailable: 2,
    },
    memory: {
      pid,
      timestamp: now,
      rss: 10_485_760,
      vms: 104_857_600,
      shared: null,
      swap: null,
      data: null,
      stack: null,
      pss: 6_291_456,
      uss: 4_194_304,
      usagePercent: 1,
    },
    numFDs: 12,
    numThreads: 3,
    readBytesPerSec: 0,
    writeBytesPerSec: 0,
    readBytes: 4096,
    writeBytes: 8192,
    voluntaryContextSwitches: 100,
    involuntaryContextSwitches: 7,
    majorFaults: 2,
    minorFaults: 900,
    processCount: 1,
    cgroup: {
      path: '/system.slice/web.service',
      memoryUsageBytes: 20_971_520,
      memoryLimitBytes: 268_435_456,
      cpuPeriods: 100,
      cpuThrottledPeriods: 3,
      cpuThrottledSeconds: 0.5,
      cpuLimitCores: 1.5,
      oomKills: 1,
      pressure: { cpu: { some: 2.5, full: null }, memory: { some: 0.25, full: 0.125 }, io: { some: 1, full: 0.5 } },
    },
    startTime: now - 60_000,
    uptime: 60_000,
    restartCount: 0,
    oomKills: 0,
    healthRestarts: 0,
    lastError: '',
    timestamp: now,
    ...overrides,
  };
}

/** A SnapshotSource a test fills by hand. */
export class FakeSource implements SnapshotSource {
  snapshots = new Map<string, ProcessMetrics>();
  trackerStats: TrackerStats = emptyStats(5000);
  errorCounts = new Map<string, number>();

  set(snapshot: ProcessMetrics): this {
    this.snapshots.set(snapshot.serviceName, snapshot);
    return this;
  }
  forEachSnapshot(visit: (snapshot: Readonly<ProcessMetrics>) => void): void {
    for (const snapshot of this.snapshots.values()) visit(snapshot);
  }
  stats(): TrackerStats {
    return { ...this.trackerStats, services: this.snapshots.size };
  }
  collectorErrorCounts(): ReadonlyMap<string, number> {
    return this.errorCounts;
  }
}

/** A reader a test collects from by hand (cumulative, as the SDK defaults). */
export class ManualReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One data point, flattened for assertions. */
export interface Point {
  name: string;
  unit: string;
  type: 'sum' | 'gauge' | 'histogram' | 'other';
  monotonic: boolean | undefined;
  attributes: Attributes;
  /** A histogram's count. */
  value: number;
  histogram?: { bounds: readonly number[]; counts: readonly number[]; sum: number };
}

const POINT_TYPES: Partial<Record<DataPointType, Point['type']>> = {
  [DataPointType.SUM]: 'sum',
  [DataPointType.GAUGE]: 'gauge',
  [DataPointType.HISTOGRAM]: 'histogram',
};

export function flatten(resourceMetrics: ResourceMetrics): Point[] {
  const points: Point[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const type = POINT_TYPES[metric.dataPointType] ?? 'other';
      const monotonic = metric.dataPointType === DataPointType.SUM ? metric.isMonotonic : undefined;
      const base = { name: metric.descriptor.name, unit: metric.descriptor.unit, type, monotonic };
      for (const point of metric.dataPoints) {
        const value = point.value;
        if (typeof value === 'number') points.push({ ...base, attributes: point.attributes, value });
        else if ('buckets' in value) {
          const histogram = { bounds: value.buckets.boundaries, counts: value.buckets.counts, sum: value.sum ?? NaN };
          points.push({ ...base, attributes: point.attributes, value: value.count, histogram });
        }
      }
    }
  }
  return points;
}

/** The points of one metric, optionally only those whose attributes include `match`. */
export function pointsOf(points: readonly Point[], name: string, match: Attributes = {}): Point[] {
  return points.filter((p) => p.name === name && Object.entries(match).every(([k, v]) => p.attributes[k] === v));
}

/** The semconv process metrics the collector provides, spelled out here rather than imported, so a typo in src fails. */
export const SEMCONV_PROCESS_METRICS = [
  'process.cpu.time',
  'process.cpu.utilization',
  'process.memory.usage',
  'process.memory.virtual',
  'process.disk.io',
  'process.thread.count',
  'process.unix.file_descriptor.count',
  'process.context_switches',
  'process.paging.faults',
  'process.uptime',
] as const;
