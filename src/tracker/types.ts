import type { MeterProvider } from '@opentelemetry/api';
import type { ProcessMetrics } from '../core/metrics.js';
import type { GroupTarget } from '../core/groups.js';
import type { ProcessState } from '../core/state.js';

export interface TrackerOptions {
  /** Time between samples, ms (default 5000). Must be a positive finite number. */
  collectionInterval?: number;
  /** Snapshots buffered per subscriber before the oldest is dropped (default 64). */
  subscriberBufferSize?: number;
  /** Most subscribers at once (default 64). */
  maxSubscribers?: number;
  /**
   * Where the tracker registers its observable instruments (default: the global
   * MeterProvider of `@opentelemetry/api`, a no-op until an SDK is registered).
   * Pass `null` to register none.
   */
  meterProvider?: MeterProvider | null;
  /**
   * Also put procmetrics.state and procmetrics.healthy on the gauges of a live
   * process (default false); see `InstrumentOptions.stateAttributes`. A
   * provider from `startTelemetry` follows that pipeline's own setting.
   */
  stateAttributes?: boolean;
}

/**
 * A service accounted as a cgroup: its path as seen from the hierarchy mounts,
 * e.g. `/system.slice/api.service` (cgroup v2: relative to the v2 mount; v1:
 * the same path in the cpu/cpuacct, memory and pids hierarchies).
 */
export interface CgroupTarget {
  cgroup: string;
}

/**
 * A service that is a group of processes: the group named `group.group` of
 * those `group.grouping` makes (see `compileGroupRules`). Its figures are the
 * group's sums and its processCount the group's size; it is running while it
 * has a process and stopped while it has none.
 */
export interface GroupTargetSpec {
  group: GroupTarget;
}

/** What one pass of discovery found and did. */
export interface DiscoveryPass {
  /** Groups with a process now, the overflow group included. */
  readonly groups: number;
  /** Groups past the limit, summed into the overflow group. */
  readonly overflowed: number;
  readonly added: number;
  readonly removed: number;
  /** Groups that could not be tracked this pass, or whose name another service has (each tried again next pass). */
  readonly failed: number;
}

/** A running discovery (see `Tracker.discover`). */
export interface Discovery {
  /** The groups it tracks now. */
  groups(): string[];
  /** What its latest pass found and did. */
  last(): DiscoveryPass;
  /** One pass now (they also run at the start of every tick). */
  refresh(): Promise<DiscoveryPass>;
  /** Ends it and untracks the groups it tracked. */
  stop(): void;
}

export interface TrackOptions {
  /** Aborts the first sample; the service is then not tracked. */
  signal?: AbortSignal;
  /**
   * Count the process's live descendants into its figures (default true), with
   * the CPU time of reaped ones; false tracks the single process. Ignored for
   * a cgroup target, which counts every process in the cgroup.
   */
  descendants?: boolean;
  /**
   * When the process started, ms since epoch, as the caller resolved it (e.g.
   * from /proc/PID/stat): a different process now at `pid` (the pid was
   * reused) is refused with ProcessNotFoundError instead of tracked.
   */
  startTime?: number;
  /**
   * The caller started this process itself (a supervisor): when it is gone
   * before its first sample, the start still counts (restartCount as for any
   * start, state `starting`, pid 0) and track() rejects with
   * ProcessNotFoundError as usual; the caller then reports the exit with
   * updateState(). Without it such a start is not recorded.
   */
  countStartIfGone?: boolean;
  /**
   * The state the process is tracked in: `running` (default), or `starting`
   * for a supervisor that waits for a first health check before calling it running.
   */
  state?: 'starting' | 'running';
  /**
   * What the process ending on its own means: `failed` (default), or
   * `stopped` where the caller learns later whether it was an orderly stop
   * (a watched pid file, removed or not) and corrects it with updateState().
   * A service in `stopping` always ends `stopped`.
   */
  exitState?: 'stopped' | 'failed';
  /**
   * Extra labels carried on every series of this service (every data point
   * that has service.name), e.g. `{ team: 'payments', tier: '1' }`. At most 8;
   * names `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` and not one
   * procmetrics emits itself (service_name, procmetrics_state, cpu_mode, ...);
   * values 1 to 256 characters, no control characters. The labels stay with
   * the service across restarts; a later track() of the same name with
   * `labels` replaces them, one without keeps them. A name only register()ed
   * has none until tracked.
   */
  labels?: Readonly<Record<string, string>>;
  /**
   * The service's restart count from this start on, for a caller that keeps
   * its own count (a PM2 daemon's `restart_time`): it replaces the tracker's,
   * which otherwise adds one per track() of a known name. A non-negative
   * integer.
   */
  restartCount?: number;
}

export interface SubscribeOptions {
  /**
   * Receive the current snapshot of every service (sorted by name) first, then
   * the live stream: a late subscriber starts from the whole picture. Services
   * beyond the buffer size are dropped as usual (oldest first).
   */
  replay?: boolean;
  /** Overrides the tracker's `subscriberBufferSize` for this subscription. */
  bufferSize?: number;
  /**
   * Room for this many snapshots per tracked service on top of `bufferSize`,
   * as services come and go: a reader that takes whole ticks late, such as a
   * writer waiting for a slow pipe, loses nothing until it is this many ticks
   * behind (default 0: `bufferSize` alone).
   */
  bufferPerService?: number;
  /** Aborting it ends the subscription. */
  signal?: AbortSignal;
  /**
   * Receive the tracker's own snapshot objects instead of copies (default
   * false), for a reader that only reads them, e.g. to serialize: it saves a
   * copy per snapshot. The tracker never changes a snapshot once published
   * (it makes a new one); the reader must not change it either.
   */
  shared?: boolean;
}

/** A stream of snapshots. Breaking out of `for await` closes it. */
export interface Subscription extends AsyncIterable<ProcessMetrics> {
  /** Ends the iteration; buffered snapshots are discarded. Idempotent. */
  close(): void;
  /** Snapshots dropped (oldest first) because the buffer was full. */
  readonly dropped: number;
  readonly closed: boolean;
}

/** What a supervisor needs from a tracker; `Tracker` implements it. */
export interface ProcessTracker {
  start(signal?: AbortSignal): void;
  stop(): Promise<void>;
  close(): Promise<void>;
  track(serviceName: string, target: number | CgroupTarget | GroupTargetSpec, options?: TrackOptions): Promise<void>;
  register(serviceName: string, state?: ProcessState, lastError?: string): boolean;
  untrack(serviceName: string): boolean;
  get(serviceName: string): ProcessMetrics | undefined;
  getAll(): ProcessMetrics[];
  subscribe(options?: SubscribeOptions): Subscription;
  unsubscribe(subscription: Subscription): void;
  updateState(serviceName: string, state: ProcessState, lastError?: string): boolean;
  updateHealth(serviceName: string, healthy: boolean, reason?: string): boolean;
  recordOomKills(serviceName: string, total: number): boolean;
  countHealthRestart(serviceName: string): boolean;
  updateRestartCount(serviceName: string, restartCount: number): boolean;
}

export type { TrackerStats } from '../core/stats.js';
