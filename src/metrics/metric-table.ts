import { PRESSURE_RESOURCES, type CgroupMetrics, type PressureResource, type ProcessMetrics } from '../core/metrics.js';
import { ProcessState, isTerminal } from '../core/state.js';
import type { DurationHistogram } from '../core/histogram.js';
import type { TrackerStats } from '../core/stats.js';
import * as sc from './semconv.js';

/**
 * Every metric procmetrics exports, one row each. The Prometheus writer, the
 * OTLP producer and the observable instruments all walk this table: adding a
 * metric is adding a row.
 */

/**
 * Instrument kinds (OTel API names: ObservableCounter, ObservableUpDownCounter,
 * ObservableGauge; a histogram has no observable form, see `Reading`).
 */
export type InstrumentKind = 'counter' | 'updowncounter' | 'gauge' | 'histogram';

/** A cumulative histogram in the row's unit: `counts` per bucket (not cumulative), one more than `boundaries`. */
export interface HistogramValue {
  readonly boundaries: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/**
 * What a row reads:
 * - `process`: a snapshot of a service with a live process (pid > 0, not stopped
 *   or failed);
 * - `service`: a snapshot of any tracked service, in any state;
 * - `tracker`: the tracker itself, once per collection.
 */
export type Subject = 'process' | 'service' | 'tracker';

/**
 * Which identifying attributes a data point carries besides its row's own
 * dimension (cpu.mode, disk.io.direction, ...):
 * - `none`: nothing (the tracker's own metrics);
 * - `service`: service.name;
 * - `status`: service.name, procmetrics.state and procmetrics.healthy.
 */
export type Identity = 'none' | 'service' | 'status';

/** How the table is read; every way out (writer, producer, instruments) takes the same. */
export interface TableOptions {
  /**
   * Also put procmetrics.state and procmetrics.healthy on the gauges of a live
   * process (memory, threads, utilization...). Off by default: each change of
   * state or health then starts a new series, which restarts a `for:` and
   * splits any query that does not sum them away. Counters never carry them.
   */
  readonly stateAttributes?: boolean;
}

/**
 * The identity rule. Every data point of a service carries service.name and
 * its own dimension only, so a change of state or health, or a restart,
 * continues the same series: a `for:` on memory keeps counting through a health
 * flip, and rate() across a restart is right (a restart is a counter reset,
 * which rate() handles). State and health are the attributes of their own
 * rows (procmetrics.service.state, procmetrics.service.healthy), which is
 * where a query joins them from. `stateAttributes` puts them back on the
 * gauges of a live process. The pid is never an identifying attribute: it
 * would add series with every restart for good. `procmetrics.service.pid`
 * carries it as a value.
 */
export function identityOf(row: Pick<MetricRow, 'subject' | 'kind'>, options: TableOptions = {}): Identity {
  if (row.subject === 'tracker') return 'none';
  if (row.subject === 'service' || row.kind === 'counter') return 'service';
  return options.stateAttributes === true ? 'status' : 'service';
}

/** What the tracker rows read: taken once per collection. */
export interface TrackerView {
  readonly stats: TrackerStats;
  readonly errorCounts: ReadonlyMap<string, number>;
  /** Failed exports or collections of the pipeline, by exporter; absent outside our pipelines. */
  readonly exportFailures?: ReadonlyMap<string, number>;
}

export interface ReadContext {
  /** CPUs assumed when a snapshot does not know how many its process may use. */
  readonly fallbackCpus: number;
}

/** One value from a subject; null = unknown, the data point is left out. */
export type Read<T> = (subject: T, context: ReadContext) => number | null;

/**
 * How a row turns a subject into data points: one value; one value per fixed
 * value of an attribute; one per entry of a map known only at run time; or a
 * histogram (the pipelines procmetrics builds carry it; instruments on a
 * MeterProvider of the user's cannot, the API having no observable histogram).
 */
export type Reading<T> =
  | Read<T>
  | { readonly attribute: string; readonly values: Readonly<Record<string, Read<T>>> }
  | { readonly attribute: string; readonly entries: (subject: T) => Iterable<readonly [string, number]> }
  | { readonly histogram: (subject: T) => HistogramValue | null };

interface RowBase {
  /** The OpenTelemetry name; Prometheus sees `prometheusName(row)`. */
  readonly name: string;
  readonly kind: InstrumentKind;
  /** UCUM unit as OTel expects it: s, By, 1, {thread}... */
  readonly unit: string;
  readonly description: string;
  /** int for counts and bytes (OTLP as_int), double otherwise. */
  readonly valueType: 'int' | 'double';
}

export type MetricRow =
  | (RowBase & { readonly subject: 'process' | 'service'; readonly read: Reading<Readonly<ProcessMetrics>> })
  | (RowBase & { readonly subject: 'tracker'; readonly read: Reading<TrackerView> });

type Snapshot = Readonly<ProcessMetrics>;

/** A live process: its `process` rows have data points. Stopped, failed and pid-less services have none. */
export function hasLiveProcess(snapshot: Snapshot): boolean {
  return snapshot.pid > 0 && !isTerminal(snapshot.state);
}

/** Percent of one core -> fraction of the CPUs the process may use (0..1). */
function utilization(percent: number, snapshot: Snapshot, context: ReadContext): number {
  const cpus = snapshot.cpu.cpusAvailable ?? context.fallbackCpus;
  return cpus > 0 ? percent / 100 / cpus : 0;
}

/** A histogram of ms, in seconds. */
function inSeconds(histogram: DurationHistogram): HistogramValue {
  return {
    boundaries: histogram.boundsMs.map((ms) => ms / 1000),
    counts: histogram.counts,
    sum: histogram.sumMs / 1000,
    count: histogram.count,
  };
}

const NO_FAILURES: ReadonlyMap<string, number> = new Map();

/** The cgroup figures of a live cgroup target; undefined otherwise (no data point). */
const cgroupOf = (s: Snapshot): Readonly<CgroupMetrics> | undefined => (hasLiveProcess(s) && s.cgroup !== null ? s.cgroup : undefined);

/**
 * A row per resource of a cgroup's pressure stall totals, by scope. One row
 * each, not one with a resource attribute: a row carries one attribute.
 */
const pressureRow = (resource: PressureResource): MetricRow => ({
  name: `procmetrics.cgroup.pressure.${resource}`,
  kind: 'counter',
  unit: 's',
  valueType: 'double',
  subject: 'service',
  description: `Time tasks of the cgroup were stalled waiting for ${resource === 'cpu' ? 'CPU' : resource === 'io' ? 'I/O' : 'memory'} (${resource}.pressure total): some (at least one task) or full (all non-idle tasks at once).`,
  read: {
    attribute: sc.ATTR_PROCMETRICS_PRESSURE_SCOPE,
    values: {
      some: (s) => cgroupOf(s)?.pressure?.[resource].some ?? null,
      full: (s) => cgroupOf(s)?.pressure?.[resource].full ?? null,
    },
  },
});

const oneIfState =
  (state: ProcessState): Read<Snapshot> =>
  (s) =>
    s.state === state ? 1 : 0;

export const METRICS: readonly MetricRow[] = [
  // --- OS process metrics, OpenTelemetry semantic conventions ---------------
  {
    name: sc.METRIC_PROCESS_CPU_TIME,
    kind: 'counter',
    unit: 's',
    valueType: 'double',
    subject: 'process',
    description: 'CPU time used by the process since it started, by mode.',
    read: { attribute: sc.ATTR_CPU_MODE, values: { user: (s) => s.cpu.user, system: (s) => s.cpu.system } },
  },
  {
    name: sc.METRIC_PROCESS_CPU_UTILIZATION,
    kind: 'gauge',
    unit: '1',
    valueType: 'double',
    subject: 'process',
    description: 'CPU used between the last two samples as a fraction of the CPUs available to the process (0..1), by mode.',
    read: {
      attribute: sc.ATTR_CPU_MODE,
      values: {
        user: (s, c) => utilization(s.cpu.userPercent, s, c),
        system: (s, c) => utilization(s.cpu.systemPercent, s, c),
      },
    },
  },
  {
    name: sc.METRIC_PROCESS_MEMORY_USAGE,
    kind: 'updowncounter',
    unit: 'By',
    valueType: 'int',
    subject: 'process',
    description: 'Physical memory in use (resident set size).',
    read: (s) => s.memory.rss,
  },
  {
    name: sc.METRIC_PROCESS_MEMORY_VIRTUAL,
    kind: 'updowncounter',
    unit: 'By',
    valueType: 'int',
    subject: 'process',
    description: 'Virtual memory committed by the process.',
    read: (s) => s.memory.vms,
  },
  {
    name: 'procmetrics.process.memory.pss',
    kind: 'updowncounter',
    unit: 'By',
    valueType: 'int',
    subject: 'process',
    description:
      'Proportional set size: resident memory with each shared page divided among the processes that map it, so the sum over a tree or group counts shared memory once (smaps_rollup, read every 30 s by default).',
    read: (s) => s.memory.pss ?? null,
  },
  {
    name: 'procmetrics.process.memory.uss',
    kind: 'updowncounter',
    unit: 'By',
    valueType: 'int',
    subject: 'process',
    description: 'Unique set size: resident memory no other process maps, what the processes would free by exiting (smaps_rollup).',
    read: (s) => s.memory.uss ?? null,
  },
  {
    name: sc.METRIC_PROCESS_DISK_IO,
    kind: 'counter',
    unit: 'By',
    valueType: 'int',
    subject: 'process',
    description: 'Bytes read from and written to storage since the process started.',
    read: { attribute: sc.ATTR_DISK_IO_DIRECTION, values: { read: (s) => s.readBytes, write: (s) => s.writeBytes } },
  },
  {
    name: sc.METRIC_PROCESS_THREAD_COUNT,
    kind: 'updowncounter',
    unit: '{thread}',
    valueType: 'int',
    subject: 'process',
    description: 'Threads of the process.',
    read: (s) => s.numThreads,
  },
  {
    name: sc.METRIC_PROCESS_UNIX_FILE_DESCRIPTOR_COUNT,
    kind: 'updowncounter',
    unit: '{file_descriptor}',
    valueType: 'int',
    subject: 'process',
    description: 'Open file descriptors of the process.',
    read: (s) => s.numFDs,
  },
  {
    name: sc.METRIC_PROCESS_CONTEXT_SWITCHES,
    kind: 'counter',
    unit: '{context_switch}',
    valueType: 'int',
    subject: 'process',
    description: 'Context switches since the process started, by type.',
    read: {
      attribute: sc.ATTR_PROCESS_CONTEXT_SWITCH_TYPE,
      values: { voluntary: (s) => s.voluntaryContextSwitches, involuntary: (s) => s.involuntaryContextSwitches },
    },
  },
  {
    name: sc.METRIC_PROCESS_PAGING_FAULTS,
    kind: 'counter',
    unit: '{fault}',
    valueType: 'int',
    subject: 'process',
    description: 'Page faults since the process started, by type.',
    read: { attribute: sc.ATTR_SYSTEM_PAGING_FAULT_TYPE, values: { major: (s) => s.majorFaults, minor: (s) => s.minorFaults } },
  },
  {
    name: sc.METRIC_PROCESS_UPTIME,
    kind: 'gauge',
    unit: 's',
    valueType: 'double',
    subject: 'process',
    description: 'Time the process has been running, as of its last sample.',
    read: (s) => s.uptime / 1000,
  },

  // --- procmetrics.service.*: the supervisor's view, for every tracked service
  {
    name: 'procmetrics.service.state',
    kind: 'gauge',
    unit: '{service}',
    valueType: 'int',
    subject: 'service',
    description: 'Lifecycle state of the service: 1 for its current state, 0 for the four others.',
    read: {
      attribute: sc.ATTR_PROCMETRICS_STATE,
      values: Object.fromEntries(Object.values(ProcessState).map((state) => [state, oneIfState(state)])),
    },
  },
  {
    name: 'procmetrics.service.healthy',
    kind: 'gauge',
    unit: '{service}',
    valueType: 'int',
    subject: 'service',
    description: 'Health of the service: 1 while it is running and its health check (if it has one) passes, 0 otherwise.',
    read: (s) => (s.healthy ? 1 : 0),
  },
  {
    name: 'procmetrics.service.pid',
    kind: 'gauge',
    unit: '{pid}',
    valueType: 'int',
    subject: 'service',
    description: 'Process id of the service while it has a live process; no data point otherwise.',
    read: (s) => (hasLiveProcess(s) ? s.pid : null),
  },
  {
    name: 'procmetrics.service.restarts',
    kind: 'counter',
    unit: '{restart}',
    valueType: 'int',
    subject: 'service',
    description: 'Restarts of the service since it was first tracked; per service, so it outlives each process.',
    read: (s) => s.restartCount,
  },
  {
    name: 'procmetrics.service.oom_kills',
    kind: 'counter',
    unit: '{kill}',
    valueType: 'int',
    subject: 'service',
    description:
      "Processes of the service the kernel's OOM killer ended: its cgroup's own count (memory.events oom_kill) where it has one, else as its supervisor saw them.",
    read: (s) => s.oomKills,
  },
  {
    name: 'procmetrics.service.health_restarts',
    kind: 'counter',
    unit: '{restart}',
    valueType: 'int',
    subject: 'service',
    description: 'Restarts its supervisor made because health checks failed too many times in a row; also counted in restarts.',
    read: (s) => s.healthRestarts,
  },

  {
    name: 'procmetrics.service.processes',
    kind: 'gauge',
    unit: '{process}',
    valueType: 'int',
    subject: 'service',
    description:
      'Processes the service counts now: 1 for a single process, the process and its live descendants for a tree, the processes of its cgroup; 0 while it has none.',
    read: (s) => (hasLiveProcess(s) ? s.processCount : 0),
  },

  // --- procmetrics.cgroup.*: a cgroup target's own accounting ----------------
  {
    name: 'procmetrics.cgroup.memory.usage',
    kind: 'gauge',
    unit: 'By',
    valueType: 'int',
    subject: 'service',
    description: 'Memory charged to the cgroup, page cache included (memory.current; v1 memory.usage_in_bytes).',
    read: (s) => cgroupOf(s)?.memoryUsageBytes ?? null,
  },
  {
    name: 'procmetrics.cgroup.memory.limit',
    kind: 'gauge',
    unit: 'By',
    valueType: 'int',
    subject: 'service',
    description: 'Memory limit of the cgroup (memory.max; v1 memory.limit_in_bytes); no data point when unlimited.',
    read: (s) => cgroupOf(s)?.memoryLimitBytes ?? null,
  },
  {
    name: 'procmetrics.cgroup.cpu.periods',
    kind: 'counter',
    unit: '{period}',
    valueType: 'int',
    subject: 'service',
    description: 'CPU bandwidth enforcement periods that elapsed while the cgroup had runnable tasks (cpu.stat nr_periods).',
    read: (s) => cgroupOf(s)?.cpuPeriods ?? null,
  },
  {
    name: 'procmetrics.cgroup.cpu.throttled_periods',
    kind: 'counter',
    unit: '{period}',
    valueType: 'int',
    subject: 'service',
    description: 'Periods in which the cgroup used up its CPU quota and was throttled (cpu.stat nr_throttled).',
    read: (s) => cgroupOf(s)?.cpuThrottledPeriods ?? null,
  },
  {
    name: 'procmetrics.cgroup.cpu.throttled_time',
    kind: 'counter',
    unit: 's',
    valueType: 'double',
    subject: 'service',
    description: 'Time the cgroup spent throttled (cpu.stat throttled_usec; v1 throttled_time).',
    read: (s) => cgroupOf(s)?.cpuThrottledSeconds ?? null,
  },
  {
    name: 'procmetrics.cgroup.cpu.limit',
    kind: 'gauge',
    unit: '{cpu}',
    valueType: 'double',
    subject: 'service',
    description:
      'CPU bandwidth limit of the cgroup in CPUs, quota / period (cpu.max; v1 cpu.cfs_quota_us / cpu.cfs_period_us); no data point when unlimited.',
    read: (s) => cgroupOf(s)?.cpuLimitCores ?? null,
  },
  ...PRESSURE_RESOURCES.map(pressureRow),

  // --- procmetrics.tracker.*: the tracker's own work -------------------------
  {
    name: 'procmetrics.tracker.ticks',
    kind: 'counter',
    unit: '{tick}',
    valueType: 'int',
    subject: 'tracker',
    description: 'Collection ticks completed.',
    read: (t) => t.stats.ticks,
  },
  {
    name: 'procmetrics.tracker.tick.duration',
    kind: 'histogram',
    unit: 's',
    valueType: 'double',
    subject: 'tracker',
    description: 'Wall time of each collection tick; above the interval, the tracker falls behind.',
    read: { histogram: (t) => inSeconds(t.stats.tickDurations) },
  },
  {
    name: 'procmetrics.tracker.interval',
    kind: 'gauge',
    unit: 's',
    valueType: 'double',
    subject: 'tracker',
    description: 'Time between collection ticks, as configured.',
    read: (t) => t.stats.intervalMs / 1000,
  },
  {
    name: 'procmetrics.tracker.sweep.cost',
    kind: 'gauge',
    unit: 's',
    valueType: 'double',
    subject: 'tracker',
    description: "Wall time of the collector's last sweep per target it read (0 before any).",
    read: (t) => (t.stats.lastSweepTargets > 0 ? t.stats.lastSweepDurationMs / t.stats.lastSweepTargets / 1000 : 0),
  },
  {
    name: 'procmetrics.collector.open_fds',
    kind: 'updowncounter',
    unit: '{file_descriptor}',
    valueType: 'int',
    subject: 'tracker',
    description: 'File descriptors the collector holds open to read processes quickly.',
    read: (t) => t.stats.collectorOpenFds,
  },
  {
    name: 'procmetrics.tracker.services',
    kind: 'updowncounter',
    unit: '{service}',
    valueType: 'int',
    subject: 'tracker',
    description: 'Services tracked, in any state.',
    read: (t) => t.stats.services,
  },
  {
    name: 'procmetrics.tracker.sample.errors',
    kind: 'counter',
    unit: '{error}',
    valueType: 'int',
    subject: 'tracker',
    description:
      'Samples that failed for a reason other than the process being gone: error.type timeout (abandoned after their budget) or other.',
    read: {
      attribute: sc.ATTR_ERROR_TYPE,
      values: {
        timeout: (t) => t.stats.collectionTimeouts,
        other: (t) => Math.max(0, t.stats.collectionErrors - t.stats.collectionTimeouts),
      },
    },
  },
  {
    name: 'procmetrics.tracker.read.errors',
    kind: 'counter',
    unit: '{error}',
    valueType: 'int',
    subject: 'tracker',
    description:
      'Fields the collector could not read, by error.type (source:code, e.g. io:EACCES); counted here instead of logged on every tick.',
    read: { attribute: sc.ATTR_ERROR_TYPE, entries: (t) => t.errorCounts },
  },
  {
    name: 'procmetrics.tracker.process.exits',
    kind: 'counter',
    unit: '{exit}',
    valueType: 'int',
    subject: 'tracker',
    description: 'Tracked processes seen to exit (or to have their pid reused).',
    read: (t) => t.stats.processExits,
  },
  {
    name: 'procmetrics.tracker.snapshots.dropped',
    kind: 'counter',
    unit: '{snapshot}',
    valueType: 'int',
    subject: 'tracker',
    description: 'Snapshots dropped because a subscriber fell behind.',
    read: (t) => t.stats.droppedSnapshots,
  },
  {
    name: 'procmetrics.exporter.failures',
    kind: 'counter',
    unit: '{failure}',
    valueType: 'int',
    subject: 'tracker',
    description:
      'Exports that failed (OTLP: refused, timed out, unreachable) or collections that failed (Prometheus), by procmetrics.exporter.',
    read: { attribute: sc.ATTR_PROCMETRICS_EXPORTER, entries: (t) => t.exportFailures ?? NO_FAILURES },
  },
];
