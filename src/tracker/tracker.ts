import { DEFAULT_INTERVAL_MS, DEFAULT_MAX_SUBSCRIBERS, DEFAULT_SUBSCRIPTION_BUFFER } from '../core/limits.js';
import { totalmem } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { metrics } from '@opentelemetry/api';
import { defaultCollector } from '../collectors/default.js';
import { InvalidArgumentValueError, ProcessNotFoundError, SubscriberLimitError, TrackerClosedError } from '../core/errors.js';
import type { ProcessMetrics } from '../core/metrics.js';
import { instrumentTracker } from '../metrics/instruments.js';
import { RESERVED_LABEL_NAMES } from '../metrics/prometheus-names.js';
import { ProcessState, isTerminal } from '../core/state.js';
import type { Collector, PerPidCollector, ProcessSample, SampleOutcome, SampleTarget } from '../core/collector-port.js';
import { isBatchCollector, perPidCollector } from './per-pid.js';
import { DurationRecorder, TICK_DURATION_BOUNDS_MS } from '../core/histogram.js';
import { Sampler } from './sampling.js';
import {
  baselineOf,
  copySnapshot,
  idleSnapshot,
  lifetimeBaseline,
  snapshotFromSample,
  restamped,
  type Baseline,
  type ServiceStatus,
} from './snapshot.js';
import { SnapshotChannel } from './subscription.js';
import { GroupDiscovery } from './discovery.js';
import type { ProcessGrouping } from '../core/groups.js';
import type {
  CgroupTarget,
  Discovery,
  GroupTargetSpec,
  ProcessTracker,
  SubscribeOptions,
  Subscription,
  TrackOptions,
  TrackerOptions,
  TrackerStats,
} from './types.js';
import {
  intervalOption,
  positiveIntegerOption,
  stateOption,
  validateBoolean,
  validateCollector,
  checkInteger,
  validateCount,
  validateMeterProvider,
  validateName,
  validateOptionalBoolean,
  validateOptionalString,
  validateOptions,
  validateStartTime,
  validateTrackTarget,
  validateServiceName,
  validateSignal,
  validateLabels,
  sameLabels,
  NO_LABELS,
  validateState,
} from '../core/validate.js';

/** Longest synchronous stretch of a tick's bookkeeping, ms, before it yields to the event loop. */
const SLICE_MS = 2;
/** The least time budget of a first sample (track()), ms; see #firstSampleTimeoutMs. */
const FIRST_SAMPLE_MIN_BUDGET_MS = 1000;
/** Most services released in one slice of close(), however fast each release is. */
const RELEASES_PER_SLICE = 1024;

/**
 * Two start times further apart than this belong to two different processes.
 * Collectors that derive the start from "now - elapsed" jitter by a few ms.
 */
const START_TIME_TOLERANCE_MS = 1000;

/** A track() call waiting for its first sample. */
interface FirstSample {
  readonly target: SampleTarget;
  readonly resolve: (outcome: SampleOutcome) => void;
}

/** One start()..stop() of the sampling loop; stop() aborts the sweep in flight through `stopped`. */
interface Run {
  active: boolean;
  readonly stopped: AbortController;
}

interface Service {
  status: ServiceStatus;
  snapshot: ProcessMetrics;
  /** The live process being sampled, or undefined once it is gone or stopped. */
  instance: Instance | undefined;
  /** Whether any process was ever tracked under this name: the next track() is then a restart. */
  hadProcess: boolean;
  /**
   * A tick saw the current process exit and published `failed`: a supervisor's
   * own report of the same exit then refines lastError without a second event.
   */
  exitPublished: boolean;
}

/** One process of a service: the (pid, start time) pair and its last reading. */
interface Instance {
  /** What the collector is asked to read each tick. */
  target: SampleTarget;
  /** The process (or tree root) followed; 0 for a cgroup. */
  pid: number;
  /** From the collector, ms since epoch; 0 when the collector cannot tell. */
  processStartTime: number;
  /** Start of the instance as shown in snapshots: the process start, else when tracking began. */
  startTime: number;
  baseline: Baseline;
  /** The state the process ending on its own leaves the service in. */
  exitState: ProcessState;
  /** How messages name it: `process 1234`, `cgroup /system.slice/api.service`. */
  label: string;
}

/**
 * Tracks CPU, memory and more of named services, each a process with a pid,
 * along with its state, health and restart count; samples them on an
 * interval and publishes every snapshot to subscribers.
 */
export class Tracker implements ProcessTracker {
  readonly #collector: Collector;
  /** Made here (no collector was given), so closed here. */
  readonly #ownsCollector: boolean;
  readonly #uninstrument: () => void;
  readonly #sampler: Sampler;
  readonly #intervalMs: number;
  readonly #bufferSize: number;
  readonly #maxSubscribers: number;
  readonly #totalMemoryBytes = totalmem();

  readonly #services = new Map<string, Service>();
  /** Latest track() call per name: an older call that finishes later must not win. */
  readonly #trackCalls = new Map<string, number>();
  #trackSeq = 0;
  readonly #subscribers = new Set<SnapshotChannel>();
  /** Discoveries running on this tracker, each refreshed at the start of every tick. */
  readonly #discoveries = new Set<GroupDiscovery>();

  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** The current loop's switch; each start() gets its own, so a restart never revives a stopping loop. */
  #run: Run | undefined;
  #closed = false;
  /** First samples asked for since the batch being read began, read together next (see #firstSample). */
  #batch: FirstSample[] | undefined;
  #readingBatches = false;
  #startSignal: { signal: AbortSignal; onAbort: () => void } | undefined;

  readonly #tickDurations = new DurationRecorder(TICK_DURATION_BOUNDS_MS);
  readonly #stats = {
    ticks: 0,
    lastTickDurationMs: 0,
    lastSweepDurationMs: 0,
    lastSweepTargets: 0,
    collectionErrors: 0,
    collectionTimeouts: 0,
    processExits: 0,
    droppedSnapshots: 0,
  };

  /**
   * @param collector how processes are read; default `defaultCollector()`
   *   (/proc on Linux, pidusage elsewhere).
   */
  constructor(collector?: Collector | PerPidCollector, options: TrackerOptions = {}) {
    validateCollector(collector);
    validateOptions(options, 'options');
    validateMeterProvider(options.meterProvider, 'options.meterProvider');
    validateOptionalBoolean(options.stateAttributes, 'options.stateAttributes');
    this.#intervalMs = intervalOption(options.collectionInterval, 'collectionInterval', DEFAULT_INTERVAL_MS);
    this.#bufferSize = positiveIntegerOption(options.subscriberBufferSize, 'subscriberBufferSize', DEFAULT_SUBSCRIPTION_BUFFER);
    this.#maxSubscribers = positiveIntegerOption(options.maxSubscribers, 'maxSubscribers', DEFAULT_MAX_SUBSCRIBERS);
    const meterProvider = options.meterProvider === undefined ? metrics.getMeterProvider() : options.meterProvider;
    this.#ownsCollector = collector === undefined;
    this.#collector = collector === undefined ? defaultCollector() : isBatchCollector(collector) ? collector : perPidCollector(collector);
    this.#sampler = new Sampler(this.#collector);
    this.#uninstrument = meterProvider
      ? instrumentTracker(this, meterProvider, { stateAttributes: options.stateAttributes === true })
      : () => {};
  }

  /** Time between samples, ms. */
  get collectionInterval(): number {
    return this.#intervalMs;
  }

  get running(): boolean {
    return this.#run !== undefined;
  }

  /**
   * Starts sampling: once at once, then once per interval. Ticks never overlap:
   * a slow tick delays the next. Idempotent; aborting `signal` stops like stop().
   */
  start(signal?: AbortSignal): void {
    validateSignal(signal, 'signal');
    if (this.#closed) throw new TrackerClosedError('start');
    if (this.#run || signal?.aborted) return;
    const run: Run = { active: true, stopped: new AbortController() };
    this.#run = run;
    if (signal) {
      const onAbort = (): void => void this.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#startSignal = { signal, onAbort };
    }
    const previous = this.#loop ?? Promise.resolve();
    // A stop() still draining the previous loop finishes before this one ticks.
    this.#loop = previous.then(() => this.#runLoop(run));
  }

  /** Stops sampling once any tick in flight has finished. Keeps services and subscriptions. */
  async stop(): Promise<void> {
    if (this.#run) {
      this.#run.active = false;
      this.#run.stopped.abort();
    }
    this.#run = undefined;
    if (this.#startSignal) {
      this.#startSignal.signal.removeEventListener('abort', this.#startSignal.onAbort);
      this.#startSignal = undefined;
    }
    this.#wake?.();
    await this.#loop;
  }

  /** Stops, ends every subscription and releases everything held for tracked processes. */
  async close(): Promise<void> {
    if (this.#closed) return this.#loop;
    this.#closed = true;
    await this.stop();
    // Before the services go: a pipeline keeps their last state for its final export.
    this.#uninstrument();
    for (const channel of [...this.#subscribers]) channel.close();
    // Closing the fds of 10,000 processes takes tens of ms: in slices, as a tick records its snapshots.
    let sliceStarted = performance.now();
    let inSlice = 0;
    for (const service of this.#services.values()) {
      if (inSlice >= RELEASES_PER_SLICE || performance.now() - sliceStarted > SLICE_MS) {
        await yieldToEventLoop();
        sliceStarted = performance.now();
        inSlice = 0;
      }
      this.#release(service);
      inSlice++;
    }
    this.#services.clear();
    this.#trackCalls.clear();
    if (this.#ownsCollector) await this.#collector.close?.();
  }

  /**
   * Starts following `target` as `serviceName`: a pid (with its live
   * descendants unless `options.descendants` is false) or `{ cgroup: PATH }`.
   * Samples once before resolving so that get() has real numbers at once.
   * Tracking a known name again is a restart. Rejects, tracking nothing, when
   * the process does not exist (or, with `options.startTime`, when the process
   * at `pid` started at another time: the pid was reused), or when the cgroup
   * does not exist or has no process.
   */
  async track(serviceName: string, target: number | CgroupTarget | GroupTargetSpec, options: TrackOptions = {}): Promise<void> {
    validateServiceName(serviceName);
    const what = validateTrackTarget(target);
    validateOptions(options, 'options');
    validateSignal(options.signal, 'options.signal');
    validateStartTime(options.startTime, 'options.startTime');
    validateOptionalBoolean(options.countStartIfGone, 'options.countStartIfGone');
    const initialState = stateOption(options.state, 'options.state', [ProcessState.Starting, ProcessState.Running], ProcessState.Running);
    const exitState = stateOption(options.exitState, 'options.exitState', [ProcessState.Failed, ProcessState.Stopped], ProcessState.Failed);
    validateOptionalBoolean(options.descendants, 'options.descendants');
    const labels = options.labels === undefined ? undefined : validateLabels(options.labels, 'options.labels', RESERVED_LABEL_NAMES);
    const restartCount = options.restartCount;
    if (restartCount !== undefined) validateCount(restartCount, 'options.restartCount');
    if (!('pid' in what) && options.startTime !== undefined) {
      throw new InvalidArgumentValueError(`options.startTime applies to a pid target, not to a ${'cgroup' in what ? 'cgroup' : 'group'}`);
    }
    if (this.#closed) throw new TrackerClosedError('track');
    const call = ++this.#trackSeq;
    this.#trackCalls.set(serviceName, call);

    const descendants = options.descendants ?? true;
    const pid = 'pid' in what ? what.pid : 0;
    const first: SampleTarget =
      'cgroup' in what
        ? { pid: 0, cgroup: what.cgroup }
        : 'group' in what
          ? { pid: 0, group: what.group }
          : { pid, descendants, ...(options.startTime === undefined ? {} : { startTime: options.startTime }) };
    // A fresh read: whatever the collector held for this pid may be a predecessor's.
    if (pid > 0) this.#collector.release?.(pid);
    let outcome = await this.#firstSample(first, options.signal);
    if (outcome.ok && options.startTime !== undefined && !sameStart(options.startTime, outcome.sample.startTime)) {
      outcome = { ok: false, error: new ProcessNotFoundError(pid, 'pid now belongs to another process') };
    }
    const latest = this.#trackCalls.get(serviceName) === call;
    if (latest) this.#trackCalls.delete(serviceName);
    if (!outcome.ok) {
      const gone = outcome.error instanceof ProcessNotFoundError;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run during the sample
      if (gone && options.countStartIfGone && latest && !this.#closed) this.#startedAndGone(serviceName);
      throw outcome.error;
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run during the sample
    if (this.#closed) {
      if (pid > 0) this.#collector.release?.(pid);
      throw new TrackerClosedError('track');
    }
    if (!latest) return; // a later track() of the same name is under way and wins

    const sample = outcome.sample;
    const previous = this.#services.get(serviceName);
    // A group with no process now is tracked all the same, as stopped: it is alertable before its first process.
    const empty = 'group' in what && sample.processCount === 0;
    const started = this.#startedStatus(serviceName, previous, empty ? ProcessState.Stopped : initialState);
    const status = withLabels(restartCount === undefined ? started : { ...started, restartCount }, labels);
    if (previous?.instance && previous.instance.pid !== pid) this.#release(previous);

    const startTime = sample.startTime > 0 ? sample.startTime : Date.now();
    let instance: Instance;
    if (!('pid' in what)) {
      // A cgroup or a group outlives its processes: its oldest one may change
      // without the service ending, and its counters began before that process
      // started, so there is no identity to pin and no lifetime average to
      // start from.
      instance = {
        target: first,
        pid: 0,
        processStartTime: 0,
        startTime,
        baseline: baselineOf(sample),
        label: 'cgroup' in what ? `cgroup ${what.cgroup}` : `group ${what.group.group}`,
        exitState,
      };
    } else {
      const processStartTime = sample.startTime;
      instance = {
        target: processStartTime > 0 ? { pid, descendants, startTime: processStartTime } : { pid, descendants },
        pid,
        processStartTime,
        startTime,
        // The process's start is the baseline until the first tick: a tick that
        // follows within milliseconds would otherwise divide clock-tick-sized
        // CPU deltas by a tiny window and show 0 % or a spike.
        baseline: lifetimeBaseline(sample),
        label: `process ${pid}`,
        exitState,
      };
    }
    const counted = withCgroupOomKills(status, sample);
    const snapshot = snapshotFromSample(counted, sample, instance.baseline, startTime, this.#totalMemoryBytes);
    this.#services.set(serviceName, { status: counted, snapshot, instance, hadProcess: true, exitPublished: false });
    this.#publish(snapshot);
  }

  /**
   * The first sample of a track() call. Calls made while a batch is being read
   * (a supervisor taking on thousands of services at start) are read together
   * in the next one: one call of the collector, one walk of /proc and one time
   * budget for all of them, instead of one each. A call with its own signal is
   * read alone, so that its abort ends only it.
   */
  #firstSample(target: SampleTarget, signal: AbortSignal | undefined): Promise<SampleOutcome> {
    if (signal) return this.#sampler.sampleSome([target], this.#firstSampleTimeoutMs(), signal).then(onlyOutcome);
    return new Promise((resolve) => {
      (this.#batch ??= []).push({ target, resolve });
      if (!this.#readingBatches) void this.#readBatches();
    });
  }

  /** Reads batches of first samples, one after another, until no call waits. */
  async #readBatches(): Promise<void> {
    this.#readingBatches = true;
    try {
      // The other calls of this turn join the first batch.
      await yieldToEventLoop();
      for (let batch = this.#batch; batch !== undefined; batch = this.#batch) {
        this.#batch = undefined;
        await this.#sampleBatch(batch);
      }
    } finally {
      this.#readingBatches = false;
    }
  }

  /**
   * Reads a batch of first samples and hands each outcome to its track() call,
   * in slices: what each call does next (its snapshot, its subscribers, its
   * caller) would otherwise run for thousands of calls in one stretch.
   */
  async #sampleBatch(batch: readonly FirstSample[]): Promise<void> {
    const targets = batch.map((request) => request.target);
    // What the targets share (a walk of /proc) is read before their budget starts: on a loaded
    // host it can outlast the budget, and a batch that timed out waiting for it would again.
    await this.#prepare(targets);
    const outcomes = await this.#sampler.sampleSome(targets, this.#firstSampleTimeoutMs());
    let perSlice = 16;
    for (let i = 0; i < batch.length;) {
      const sliceStarted = performance.now();
      const end = Math.min(batch.length, i + perSlice);
      for (; i < end; i++) (batch[i] as FirstSample).resolve(outcomes[i] ?? onlyOutcome([]));
      if (i === batch.length) return;
      // The calls resumed run in the microtasks before this turn: its length tells how many fit in a slice.
      await yieldToEventLoop();
      perSlice = performance.now() - sliceStarted > SLICE_MS ? Math.max(1, perSlice >> 1) : Math.min(RELEASES_PER_SLICE, perSlice * 2);
    }
  }

  /** The collector's prepare(), for a collector that has one; a failure is left to the sample. */
  async #prepare(targets: readonly SampleTarget[]): Promise<void> {
    try {
      await this.#collector.prepare?.(targets);
    } catch {
      // The sample that follows reads the same and reports what fails.
    }
  }

  /** The status of a service whose new process has just started. */
  #startedStatus(serviceName: string, previous: Service | undefined, state: ProcessState): ServiceStatus {
    return previous?.hadProcess
      ? { ...previous.status, state, restartCount: previous.status.restartCount + 1, lastError: '' }
      : {
          serviceName,
          labels: previous?.status.labels ?? NO_LABELS,
          state,
          healthy: true,
          // 0 unless updateRestartCount() set it while the name was only registered.
          restartCount: previous?.status.restartCount ?? 0,
          oomKills: 0,
          healthRestarts: 0,
          lastError: '',
          healthError: '',
        };
  }

  /**
   * A process the caller started was gone before its first sample: the start
   * still counts (a crash loop faster than sampling is still a crash loop).
   * Published as `starting` with no pid; the caller reports the exit.
   */
  #startedAndGone(serviceName: string): void {
    const previous = this.#services.get(serviceName);
    if (previous) this.#release(previous);
    const status = this.#startedStatus(serviceName, previous, ProcessState.Starting);
    const snapshot = idleSnapshot(status, Date.now());
    this.#services.set(serviceName, { status, snapshot, instance: undefined, hadProcess: true, exitPublished: false });
    this.#publish(snapshot);
  }

  /**
   * Follows every group that `grouping` (see `compileGroupRules`) makes of
   * the host's processes as a service of its own: a group that appears is
   * tracked as a group target, one that empties is untracked and leaves the
   * scrape. The host is assigned again at the start of every tick. Resolves
   * after the first pass; rejects with UnsupportedTargetError when the
   * collector cannot list processes. `stop()` on the result ends it and
   * untracks the groups it tracked. `options.labels` go on every group (a
   * rule's own labels win).
   */
  async discover(grouping: ProcessGrouping, options: { labels?: Readonly<Record<string, string>> } = {}): Promise<Discovery> {
    if (this.#closed) throw new TrackerClosedError('discover');
    validateOptions(options, 'options');
    const labels = options.labels === undefined ? {} : validateLabels(options.labels, 'options.labels', RESERVED_LABEL_NAMES);
    const discovery = new GroupDiscovery(this, this.#collector, grouping, labels);
    this.#discoveries.add(discovery);
    await discovery.refresh();
    return {
      groups: () => discovery.groups(),
      last: () => discovery.last,
      refresh: () => discovery.refresh(),
      stop: () => {
        if (!this.#discoveries.delete(discovery)) return;
        discovery.forget();
      },
    };
  }

  /**
   * Makes a service known before it has a process (a pattern nothing matches
   * yet, a command that died before its first sample), so that its state is
   * published and exported. Its first track() is not a restart. False, and
   * nothing changes, when the name is already known.
   */
  register(serviceName: string, state: ProcessState = ProcessState.Stopped, lastError = ''): boolean {
    validateServiceName(serviceName);
    validateState(state);
    validateOptionalString(lastError, 'lastError');
    if (this.#closed) throw new TrackerClosedError('register');
    if (this.#services.has(serviceName)) return false;
    const status: ServiceStatus = {
      serviceName,
      labels: NO_LABELS,
      state,
      healthy: true,
      restartCount: 0,
      oomKills: 0,
      healthRestarts: 0,
      lastError,
      healthError: '',
    };
    const snapshot = idleSnapshot(status, Date.now());
    this.#services.set(serviceName, { status, snapshot, instance: undefined, hadProcess: false, exitPublished: false });
    this.#publish(snapshot);
    return true;
  }

  /** Forgets a service; false when the name is unknown. */
  untrack(serviceName: string): boolean {
    validateName(serviceName);
    const service = this.#services.get(serviceName);
    if (!service) return false;
    this.#services.delete(serviceName);
    this.#release(service);
    return true;
  }

  get(serviceName: string): ProcessMetrics | undefined {
    validateName(serviceName);
    const service = this.#services.get(serviceName);
    return service && copySnapshot(service.snapshot);
  }

  /** Every service, sorted by name. */
  getAll(): ProcessMetrics[] {
    return [...this.#services.keys()].sort(compareNames).map((name) => copySnapshot((this.#services.get(name) as Service).snapshot));
  }

  /**
   * Visits the cached snapshot of every service without copying it; for
   * exporters that read on every scrape. Do not mutate what you are given.
   */
  forEachSnapshot(visit: (snapshot: Readonly<ProcessMetrics>) => void): void {
    for (const service of this.#services.values()) visit(service.snapshot);
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    validateOptions(options, 'options');
    validateOptionalBoolean(options.replay, 'options.replay');
    validateOptionalBoolean(options.shared, 'options.shared');
    const bufferSize = positiveIntegerOption(options.bufferSize, 'options.bufferSize', this.#bufferSize);
    // A few ticks of backlog is the point; past 1024 per service it would be an unbounded buffer in all but name.
    const perService = checkInteger('options.bufferPerService', options.bufferPerService, 0, 1024) ?? 0;
    validateSignal(options.signal, 'options.signal');
    if (this.#closed) throw new TrackerClosedError('subscribe');
    if (this.#subscribers.size >= this.#maxSubscribers) throw new SubscriberLimitError(this.#maxSubscribers);
    const signal = options.signal;
    const onAbort = (): void => channel.close();
    const channel = new SnapshotChannel(
      perService === 0 ? bufferSize : () => bufferSize + perService * this.#services.size,
      () => {
        this.#stats.droppedSnapshots += 1;
      },
      (closed) => {
        this.#subscribers.delete(closed);
        signal?.removeEventListener('abort', onAbort);
      },
      options.shared === true,
    );
    if (signal?.aborted) {
      channel.close();
      return channel;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#subscribers.add(channel);
    if (options.replay) for (const snapshot of this.getAll()) channel.push(snapshot);
    return channel;
  }

  /** Ends a subscription; ones this tracker did not create are ignored. */
  unsubscribe(subscription: Subscription): void {
    if (subscription instanceof SnapshotChannel && this.#subscribers.has(subscription)) subscription.close();
  }

  /**
   * Records a state change, published at once. Stopped and failed mean no
   * process: pid 0, numbers zeroed, sampling stops until the next track().
   * A given `lastError` replaces the previous one (`''` clears it: a clean
   * exit or an orderly stop is no error); without one it is kept. Nothing is published
   * when nothing changed. An exit is published once: when a tick has already
   * published `failed` for it, `failed` with a reason only replaces lastError
   * (seen by get() and exporters) without a second event. False for unknown names.
   */
  updateState(serviceName: string, state: ProcessState, lastError?: string): boolean {
    validateName(serviceName);
    validateState(state);
    validateOptionalString(lastError, 'lastError');
    const service = this.#services.get(serviceName);
    if (!service) return false;
    if (state === ProcessState.Failed && service.exitPublished && service.status.state === ProcessState.Failed) {
      if (lastError !== undefined) {
        service.status = { ...service.status, lastError };
        service.snapshot = { ...service.snapshot, lastError };
      }
      return true;
    }
    const status: ServiceStatus = {
      ...service.status,
      state,
      lastError: lastError ?? service.status.lastError,
    };
    const unchanged =
      status.state === service.status.state &&
      status.lastError === service.status.lastError &&
      (!isTerminal(state) || service.instance === undefined);
    if (unchanged) return true;
    if (isTerminal(state)) this.#endInstance(service, status);
    else this.#setStatus(service, status);
    return true;
  }

  /**
   * Records the verdict of a health check, published at once when it changes.
   * `reason` says why a failed check failed (kept in `healthError`; cleared
   * when a check passes). A service only counts as healthy while it is
   * running. False for unknown names.
   */
  updateHealth(serviceName: string, healthy: boolean, reason?: string): boolean {
    validateName(serviceName);
    validateBoolean(healthy, 'healthy');
    validateOptionalString(reason, 'reason');
    const service = this.#services.get(serviceName);
    if (!service) return false;
    const healthError = healthy ? '' : (reason ?? '');
    if (service.status.healthy !== healthy || service.status.healthError !== healthError) {
      this.#setStatus(service, { ...service.status, healthy, healthError });
    }
    return true;
  }

  /**
   * Tells the tracker how many processes of the service the kernel's OOM
   * killer has ended so far, e.g. from the oom_kill count of the cgroup its
   * supervisor made for it. The counter only rises: it becomes the larger of
   * `total` and what it was, published when that changes. False for unknown names.
   */
  recordOomKills(serviceName: string, total: number): boolean {
    validateName(serviceName);
    validateCount(total, 'total');
    const service = this.#services.get(serviceName);
    if (!service) return false;
    if (total > service.status.oomKills) this.#setStatus(service, { ...service.status, oomKills: total });
    return true;
  }

  /**
   * Counts one restart its supervisor made because the service's health
   * checks kept failing (the restart itself is counted by the next track()).
   * Published at once. False for unknown names.
   */
  countHealthRestart(serviceName: string): boolean {
    validateName(serviceName);
    const service = this.#services.get(serviceName);
    if (!service) return false;
    this.#setStatus(service, { ...service.status, healthRestarts: service.status.healthRestarts + 1 });
    return true;
  }

  /**
   * Sets the restart count of a service whose restarts someone else counts
   * (a PM2 daemon, a cluster primary), published at once when it changes; the
   * next track() counts on from it. `restartCount` is a non-negative integer.
   * False for unknown names.
   */
  updateRestartCount(serviceName: string, restartCount: number): boolean {
    validateName(serviceName);
    validateCount(restartCount, 'restartCount');
    const service = this.#services.get(serviceName);
    if (!service) return false;
    if (service.status.restartCount !== restartCount) this.#setStatus(service, { ...service.status, restartCount });
    return true;
  }

  stats(): TrackerStats {
    return {
      ...this.#stats,
      tickDurations: this.#tickDurations.value(),
      intervalMs: this.#intervalMs,
      collectorOpenFds: this.#collector.openFds?.() ?? null,
      subscribers: this.#subscribers.size,
      services: this.#services.size,
    };
  }

  /** The collector's own read-failure counts (e.g. `io:EACCES`). */
  collectorErrorCounts(): ReadonlyMap<string, number> {
    return this.#collector.errorCounts?.() ?? new Map();
  }

  async #runLoop(run: Run): Promise<void> {
    while (run.active) {
      const started = performance.now();
      await this.#tick(run.stopped.signal);
      const elapsedMs = performance.now() - started;
      this.#stats.ticks += 1;
      this.#stats.lastTickDurationMs = elapsedMs;
      this.#tickDurations.record(elapsedMs);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run during the tick
      if (!run.active) break;
      await this.#sleep(Math.max(0, this.#intervalMs - elapsedMs));
    }
  }

  /** Waits `ms`, or less when stop() wakes it. */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** One sweep and what follows from it; a stop during the sweep drops what it read, as if it never ran. */
  async #tick(stopped: AbortSignal): Promise<void> {
    // Discovery first: its pass over /proc is the one this sweep's group targets then read.
    for (const discovery of this.#discoveries) {
      await discovery.refresh();
      if (stopped.aborted) return;
    }
    const due: { service: Service; instance: Instance }[] = [];
    for (const service of this.#services.values()) {
      if (service.instance) due.push({ service, instance: service.instance });
    }
    const targets: SampleTarget[] = due.map(({ instance }) => instance.target);
    const sweepStarted = performance.now();
    const outcomes = await this.#sampler.sweep(targets, this.#sampleTimeoutMs(), stopped);
    if (stopped.aborted) return;
    this.#stats.lastSweepDurationMs = performance.now() - sweepStarted;
    this.#stats.lastSweepTargets = targets.length;
    let sliceStarted = performance.now();
    for (let i = 0; i < due.length; i++) {
      // Thousands of snapshots, and what subscribers do with each, would
      // otherwise hold the event loop for tens of ms in one stretch.
      if (performance.now() - sliceStarted > SLICE_MS) {
        await yieldToEventLoop();
        sliceStarted = performance.now();
      }
      const { service, instance } = due[i] as (typeof due)[number];
      // Untracked, re-tracked or stopped while this tick ran: the result
      // describes a process the service no longer has.
      if (this.#services.get(service.status.serviceName) !== service || service.instance !== instance) continue;
      const outcome = outcomes[i];
      if (!outcome) continue;
      if (outcome.ok && isSameProcess(instance, outcome.sample)) this.#record(service, instance, outcome.sample);
      else if (outcome.ok || outcome.error instanceof ProcessNotFoundError) this.#exited(service, instance);
      else this.#countError(outcome.error);
    }
  }

  #record(service: Service, instance: Instance, sample: ProcessSample): void {
    if (instance.target.group !== undefined) this.#followGroupSize(service, sample.processCount ?? 1);
    service.status = withCgroupOomKills(service.status, sample);
    const snapshot = snapshotFromSample(service.status, sample, instance.baseline, instance.startTime, this.#totalMemoryBytes);
    instance.baseline = baselineOf(sample);
    service.snapshot = snapshot;
    this.#publish(snapshot);
  }

  /**
   * A group is running while it has a process and stopped while it has none;
   * processes coming and going are no restart. A state set from outside
   * (stopping, failed, starting) is left alone.
   */
  #followGroupSize(service: Service, processes: number): void {
    const { state } = service.status;
    if (state !== ProcessState.Running && state !== ProcessState.Stopped) return;
    const now = processes > 0 ? ProcessState.Running : ProcessState.Stopped;
    if (now !== state) service.status = { ...service.status, state: now };
  }

  /**
   * The process is gone (or its pid now names another process). A service
   * being stopped has simply stopped, which is no error: its lastError stays
   * as it was. Any other ends in the `exitState` it was tracked with (failed
   * by default), and says so in lastError. Published once, then not sampled
   * again until track().
   */
  #exited(service: Service, instance: Instance): void {
    this.#stats.processExits += 1;
    const stopping = service.status.state === ProcessState.Stopping;
    const state = stopping ? ProcessState.Stopped : instance.exitState;
    const gone = instance.pid > 0 ? `${instance.label} exited` : `${instance.label} has no process left`;
    const lastError = stopping ? service.status.lastError : gone;
    this.#endInstance(service, { ...service.status, state, lastError });
    service.exitPublished = state === ProcessState.Failed;
  }

  #endInstance(service: Service, status: ServiceStatus): void {
    this.#release(service);
    service.exitPublished = false;
    service.status = status;
    service.snapshot = idleSnapshot(status, Date.now());
    this.#publish(service.snapshot);
  }

  #setStatus(service: Service, status: ServiceStatus): void {
    service.exitPublished = false;
    service.status = status;
    service.snapshot = restamped(service.snapshot, status, Date.now());
    this.#publish(service.snapshot);
  }

  #release(service: Service): void {
    const instance = service.instance;
    if (!instance) return;
    service.instance = undefined;
    if (instance.pid > 0) this.#collector.release?.(instance.pid);
  }

  #countError(error: Error): void {
    this.#stats.collectionErrors += 1;
    if ((error as { code?: unknown }).code === 'ETIMEDOUT') this.#stats.collectionTimeouts += 1;
  }

  #publish(snapshot: ProcessMetrics): void {
    for (const channel of this.#subscribers) channel.push(channel.shared ? snapshot : copySnapshot(snapshot));
  }

  #sampleTimeoutMs(): number {
    return Math.max(1, Math.floor(this.#intervalMs / 2));
  }

  /**
   * The budget of first samples (track()): half the interval, but at least
   * FIRST_SAMPLE_MIN_BUDGET_MS. A first sample may wait for a walk over /proc,
   * read in slices (on a host of thousands of processes, tens to hundreds of
   * ms), and opens the files of every process taken on; a tick's sweep reads
   * files already open.
   */
  #firstSampleTimeoutMs(): number {
    return Math.max(FIRST_SAMPLE_MIN_BUDGET_MS, this.#sampleTimeoutMs());
  }
}

/** The one outcome of a one-target read. */
function onlyOutcome(outcomes: readonly SampleOutcome[]): SampleOutcome {
  return outcomes[0] ?? { ok: false, error: new Error('collector returned no outcome') };
}

/** The status with the OOM kills its cgroup reports, where that is more than it had: the count only rises. */
function withCgroupOomKills(status: ServiceStatus, sample: ProcessSample): ServiceStatus {
  const kills = sample.cgroup?.oomKills ?? null;
  return kills !== null && kills > status.oomKills ? { ...status, oomKills: kills } : status;
}

function isSameProcess(instance: Instance, sample: ProcessSample): boolean {
  return sameStart(instance.processStartTime, sample.startTime);
}

/** Two start times (ms) of the same process; an unknown (0) one matches anything. */
function sameStart(a: number, b: number): boolean {
  if (a <= 0 || b <= 0) return true;
  return Math.abs(a - b) <= START_TIME_TOLERANCE_MS;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The status with the labels track() was given: kept as the same object when they did not change. */
function withLabels(status: ServiceStatus, labels: Readonly<Record<string, string>> | undefined): ServiceStatus {
  if (labels === undefined || sameLabels(status.labels, labels)) return status;
  return { ...status, labels };
}
