import { totalmem } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { metrics } from '@opentelemetry/api';
import { defaultCollector } from '../collectors/default.js';
import {
  InvalidArgumentTypeError,
  ProcessNotFoundError,
  SubscriberLimitError,
  TrackerClosedError,
} from '../domain/errors.js';
import type { ProcessMetrics } from '../domain/metrics.js';
import { instrumentTracker } from '../otel/instruments.js';
import { ProcessState, isTerminal } from '../domain/state.js';
import type { Collector, ProcessSample, SampleTarget } from './collector.js';
import { Sampler } from './sampling.js';
import {
  baselineOf,
  copySnapshot,
  idleSnapshot,
  lifetimeBaseline,
  snapshotFromSample,
  withStatus,
  type Baseline,
  type ServiceStatus,
} from './snapshot.js';
import { SnapshotChannel } from './subscription.js';
import type {
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
  validateOptionalString,
  validatePid,
  validateServiceName,
  validateSignal,
  validateState,
} from './validate.js';

const DEFAULT_INTERVAL_MS = 5000;
const DEFAULT_BUFFER_SIZE = 64;
const DEFAULT_MAX_SUBSCRIBERS = 64;
/** Longest synchronous stretch of a tick's bookkeeping, ms, before it yields to the event loop. */
const SLICE_MS = 2;

/**
 * Two start times further apart than this belong to two different processes.
 * Collectors that derive the start from "now - elapsed" jitter by a few ms.
 */
const START_TIME_TOLERANCE_MS = 1000;

/** One tracked service. Replaced (never mutated in place) on track/untrack. */
interface Service {
  status: ServiceStatus;
  snapshot: ProcessMetrics;
  /** The live process being sampled, or undefined once it is gone or stopped. */
  instance: Instance | undefined;
  /** Whether any process was ever tracked under this name: the next track() is then a restart. */
  hadProcess: boolean;
}

/** One process of a service: the (pid, start time) pair and its last reading. */
interface Instance {
  pid: number;
  /** From the collector, ms since epoch; 0 when the collector cannot tell. */
  processStartTime: number;
  /** Start of the instance as shown in snapshots: the process start, else when tracking began. */
  startTime: number;
  baseline: Baseline;
  /** The state the process ending on its own leaves the service in. */
  exitState: ProcessState;
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

  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** The current loop's switch; each start() gets its own, so a restart never revives a stopping loop. */
  #run: { active: boolean } | undefined;
  #closed = false;
  #startSignal: { signal: AbortSignal; onAbort: () => void } | undefined;

  readonly #stats = {
    ticks: 0,
    lastTickDurationMs: 0,
    collectionErrors: 0,
    collectionTimeouts: 0,
    processExits: 0,
    droppedSnapshots: 0,
  };

  /**
   * @param collector how processes are read; default `defaultCollector()`
   *   (/proc on Linux, pidusage elsewhere).
   */
  constructor(collector?: Collector, options: TrackerOptions = {}) {
    if (
      collector !== undefined &&
      (typeof collector?.collectCPU !== 'function' || typeof collector.collectMemory !== 'function')
    ) {
      throw new InvalidArgumentTypeError('collector must implement collectCPU(pid) and collectMemory(pid)');
    }
    this.#intervalMs = intervalOption(options.collectionInterval, 'collectionInterval', DEFAULT_INTERVAL_MS);
    this.#bufferSize = positiveIntegerOption(options.subscriberBufferSize, 'subscriberBufferSize', DEFAULT_BUFFER_SIZE);
    this.#maxSubscribers = positiveIntegerOption(options.maxSubscribers, 'maxSubscribers', DEFAULT_MAX_SUBSCRIBERS);
    const meterProvider = options.meterProvider === undefined ? metrics.getMeterProvider() : options.meterProvider;
    this.#ownsCollector = collector === undefined;
    this.#collector = collector ?? defaultCollector();
    this.#sampler = new Sampler(this.#collector);
    this.#uninstrument = meterProvider ? instrumentTracker(this, meterProvider) : () => {};
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
    const run = { active: true };
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
    if (this.#run) this.#run.active = false;
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
    for (const service of this.#services.values()) this.#release(service);
    this.#services.clear();
    this.#trackCalls.clear();
    if (this.#ownsCollector) await this.#collector.close?.();
  }

  /**
   * Starts following `pid` as `serviceName`, sampling it once before resolving
   * so that get() has real numbers at once. Tracking a known name again is a
   * restart. Rejects, tracking nothing, when the process does not exist.
   */
  async track(serviceName: string, pid: number, options: TrackOptions = {}): Promise<void> {
    validateServiceName(serviceName);
    validatePid(pid);
    validateSignal(options.signal, 'options.signal');
    const initialState = stateOption(options.state, 'options.state', [ProcessState.Starting, ProcessState.Running], ProcessState.Running);
    const exitState = stateOption(options.exitState, 'options.exitState', [ProcessState.Failed, ProcessState.Stopped], ProcessState.Failed);
    if (this.#closed) throw new TrackerClosedError('track');
    const call = ++this.#trackSeq;
    this.#trackCalls.set(serviceName, call);

    // A fresh read: whatever the collector held for this pid may be a predecessor's.
    this.#collector.release?.(pid);
    const outcome = await this.#sampler.sampleOne({ pid }, this.#sampleTimeoutMs(), options.signal);
    if (this.#trackCalls.get(serviceName) === call) this.#trackCalls.delete(serviceName);
    if (!outcome.ok) throw outcome.error;
    if (this.#closed) {
      this.#collector.release?.(pid);
      throw new TrackerClosedError('track');
    }
    const newer = this.#trackCalls.has(serviceName);
    if (newer) return; // a later track() of the same name is under way and wins

    const sample = outcome.sample;
    const previous = this.#services.get(serviceName);
    const status: ServiceStatus = previous?.hadProcess
      ? {
          ...previous.status,
          state: initialState,
          restartCount: previous.status.restartCount + 1,
          lastError: '',
        }
      : { serviceName, state: initialState, healthy: true, restartCount: 0, lastError: '', healthError: '' };
    if (previous?.instance && previous.instance.pid !== pid) this.#release(previous);

    const startTime = sample.startTime > 0 ? sample.startTime : Date.now();
    // The process's start is the baseline until the first tick: a tick that
    // follows within milliseconds would otherwise divide clock-tick-sized
    // CPU deltas by a tiny window and show 0 % or a spike.
    const baseline = lifetimeBaseline(sample);
    const instance: Instance = { pid, processStartTime: sample.startTime, startTime, baseline, exitState };
    const snapshot = snapshotFromSample(status, sample, baseline, startTime, this.#totalMemoryBytes);
    this.#services.set(serviceName, { status, snapshot, instance, hadProcess: true });
    this.#publish(snapshot);
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
    const status: ServiceStatus = { serviceName, state, healthy: true, restartCount: 0, lastError, healthError: '' };
    const snapshot = idleSnapshot(status, Date.now());
    this.#services.set(serviceName, { status, snapshot, instance: undefined, hadProcess: false });
    this.#publish(snapshot);
    return true;
  }

  /** Forgets a service; false when the name is unknown. */
  untrack(serviceName: string): boolean {
    const service = this.#services.get(serviceName);
    if (!service) return false;
    this.#services.delete(serviceName);
    this.#release(service);
    return true;
  }

  get(serviceName: string): ProcessMetrics | undefined {
    const service = this.#services.get(serviceName);
    return service && copySnapshot(service.snapshot);
  }

  /** Every service, sorted by name. */
  getAll(): ProcessMetrics[] {
    return [...this.#services.keys()]
      .sort(compareNames)
      .map((name) => copySnapshot((this.#services.get(name) as Service).snapshot));
  }

  /**
   * Visits the cached snapshot of every service without copying it; for
   * exporters that read on every scrape. Do not mutate what you are given.
   */
  forEachSnapshot(visit: (snapshot: Readonly<ProcessMetrics>) => void): void {
    for (const service of this.#services.values()) visit(service.snapshot);
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    const bufferSize = positiveIntegerOption(options.bufferSize, 'options.bufferSize', this.#bufferSize);
    validateSignal(options.signal, 'options.signal');
    if (this.#closed) throw new TrackerClosedError('subscribe');
    if (this.#subscribers.size >= this.#maxSubscribers) throw new SubscriberLimitError(this.#maxSubscribers);
    const signal = options.signal;
    const onAbort = (): void => channel.close();
    const channel = new SnapshotChannel(
      bufferSize,
      () => {
        this.#stats.droppedSnapshots += 1;
      },
      (closed) => {
        this.#subscribers.delete(closed);
        signal?.removeEventListener('abort', onAbort);
      },
    );
    if (signal?.aborted) {
      channel.close();
      return channel;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#subscribers.add(channel);
    return channel;
  }

  /** Ends a subscription; ones this tracker did not create are ignored. */
  unsubscribe(subscription: Subscription): void {
    if (subscription instanceof SnapshotChannel && this.#subscribers.has(subscription)) subscription.close();
  }

  /**
   * Records a state change, published at once. Stopped and failed mean no
   * process: pid 0, numbers zeroed, sampling stops until the next track().
   * A non-empty `lastError` replaces the previous one. Nothing is published
   * when nothing changed. False for unknown names.
   */
  updateState(serviceName: string, state: ProcessState, lastError?: string): boolean {
    validateState(state);
    validateOptionalString(lastError, 'lastError');
    const service = this.#services.get(serviceName);
    if (!service) return false;
    const status: ServiceStatus = {
      ...service.status,
      state,
      lastError: lastError ? lastError : service.status.lastError,
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

  stats(): TrackerStats {
    return {
      ...this.#stats,
      collectionErrors: this.#stats.collectionErrors + this.#sampler.partialFailures,
      subscribers: this.#subscribers.size,
      services: this.#services.size,
    };
  }

  /** The collector's own read-failure counts (e.g. `io:EACCES`). */
  collectorErrorCounts(): ReadonlyMap<string, number> {
    return this.#collector.errorCounts?.() ?? new Map();
  }

  async #runLoop(run: { active: boolean }): Promise<void> {
    while (run.active) {
      const started = performance.now();
      await this.#tick();
      const elapsedMs = performance.now() - started;
      this.#stats.ticks += 1;
      this.#stats.lastTickDurationMs = elapsedMs;
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

  async #tick(): Promise<void> {
    const due: { service: Service; instance: Instance }[] = [];
    for (const service of this.#services.values()) {
      if (service.instance) due.push({ service, instance: service.instance });
    }
    const targets: SampleTarget[] = due.map(({ instance }) =>
      instance.processStartTime > 0 ? { pid: instance.pid, startTime: instance.processStartTime } : { pid: instance.pid },
    );
    const outcomes = await this.#sampler.sweep(targets, this.#sampleTimeoutMs());
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
    const snapshot = snapshotFromSample(
      service.status,
      sample,
      instance.baseline,
      instance.startTime,
      this.#totalMemoryBytes,
    );
    instance.baseline = baselineOf(sample);
    service.snapshot = snapshot;
    this.#publish(snapshot);
  }

  /**
   * The process is gone (or its pid now names another process). A service
   * being stopped has simply stopped; any other ends in the `exitState` it
   * was tracked with (failed by default). Published once, then not sampled
   * again until track().
   */
  #exited(service: Service, instance: Instance): void {
    this.#stats.processExits += 1;
    const state = service.status.state === ProcessState.Stopping ? ProcessState.Stopped : instance.exitState;
    this.#endInstance(service, { ...service.status, state, lastError: `process ${instance.pid} exited` });
  }

  #endInstance(service: Service, status: ServiceStatus): void {
    this.#release(service);
    service.status = status;
    service.snapshot = idleSnapshot(status, Date.now());
    this.#publish(service.snapshot);
  }

  #setStatus(service: Service, status: ServiceStatus): void {
    service.status = status;
    service.snapshot = withStatus(service.snapshot, status, Date.now());
    this.#publish(service.snapshot);
  }

  #release(service: Service): void {
    const instance = service.instance;
    if (!instance) return;
    service.instance = undefined;
    this.#collector.release?.(instance.pid);
  }

  #countError(error: Error): void {
    this.#stats.collectionErrors += 1;
    if ((error as { code?: unknown }).code === 'ETIMEDOUT') this.#stats.collectionTimeouts += 1;
  }

  #publish(snapshot: ProcessMetrics): void {
    for (const channel of this.#subscribers) channel.push(copySnapshot(snapshot));
  }

  #sampleTimeoutMs(): number {
    return Math.max(1, Math.floor(this.#intervalMs / 2));
  }
}

function isSameProcess(instance: Instance, sample: ProcessSample): boolean {
  if (instance.processStartTime <= 0 || sample.startTime <= 0) return true;
  return Math.abs(instance.processStartTime - sample.startTime) <= START_TIME_TOLERANCE_MS;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
