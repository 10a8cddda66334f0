import { CollectionTimeoutError, ProcessNotFoundError } from '../domain/errors.js';
import type { ProcessCPU, ProcessMemory } from '../domain/metrics.js';
import { UNKNOWN_EXTRAS, type Collector, type ProcessSample, type SampleOutcome, type SampleTarget } from './collector.js';

/**
 * Reads every target through the collector within `timeoutMs`. Never rejects:
 * each target gets an outcome, and a collector that throws or hangs costs only
 * the targets it was asked about, this time.
 */
export class Sampler {
  /** pids whose previous two-method call has not settled yet (a hung collector). */
  readonly #pending = new Set<number>();
  /** The last sweep's collector work has not settled yet (it may have timed out). */
  #sweepPending = false;
  #partialFailures = 0;

  constructor(private readonly collector: Collector) {}

  /** Samples that lost their memory half (the CPU half stood). */
  get partialFailures(): number {
    return this.#partialFailures;
  }

  /**
   * One tick's sweep. Work the collector never finished is not joined by more:
   * while the last sweep (or a pid's last call) is still pending, its targets
   * time out at once, so a hung collector cannot pile up work tick after tick.
   */
  async sweep(targets: readonly SampleTarget[], timeoutMs: number): Promise<SampleOutcome[]> {
    if (targets.length === 0) return [];
    const signal = AbortSignal.timeout(timeoutMs);
    const sample = this.collector.sample?.bind(this.collector);
    if (!sample) return Promise.all(targets.map((target) => this.#sampleHalvesOnce(target, timeoutMs, signal)));
    if (this.#sweepPending) return targets.map((t) => failure(new CollectionTimeoutError(t.pid, timeoutMs)));
    this.#sweepPending = true;
    return this.#sampleBatch(sample, targets, timeoutMs, signal, () => {
      this.#sweepPending = false;
    });
  }

  /** One process, outside the tick (track()); runs beside a sweep in flight. */
  async sampleOne(target: SampleTarget, timeoutMs: number, signal?: AbortSignal): Promise<SampleOutcome> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const sample = this.collector.sample?.bind(this.collector);
    if (!sample) return this.#sampleHalves(target, timeoutMs, combined);
    const [outcome] = await this.#sampleBatch(sample, [target], timeoutMs, combined, () => {});
    return outcome ?? failure(new Error('collector returned no outcome'));
  }

  async #sampleBatch(
    sample: NonNullable<Collector['sample']>,
    targets: readonly SampleTarget[],
    timeoutMs: number,
    signal: AbortSignal,
    /** Runs when the collector's work has really ended, which may be after the timeout. */
    settled: () => void,
  ): Promise<SampleOutcome[]> {
    const running = settle(() => sample(targets, signal)).finally(settled);
    const result = await raceAbort(running, signal);
    if (result === ABORTED) return targets.map((t) => failure(abortReason(signal, t.pid, timeoutMs)));
    if (!result.ok) return targets.map(() => failure(result.error));
    const outcomes = result.value;
    if (!Array.isArray(outcomes) || outcomes.length !== targets.length) {
      const error = new Error(`collector.sample returned ${describeLength(outcomes)} outcomes for ${targets.length} targets`);
      return targets.map(() => failure(error));
    }
    return outcomes;
  }

  /** The seed's two calls for one pid, unless that pid's last calls are still pending. */
  async #sampleHalvesOnce(target: SampleTarget, timeoutMs: number, signal: AbortSignal): Promise<SampleOutcome> {
    const { pid } = target;
    if (this.#pending.has(pid)) return failure(new CollectionTimeoutError(pid, timeoutMs));
    this.#pending.add(pid);
    return this.#sampleHalves(target, timeoutMs, signal, () => this.#pending.delete(pid));
  }

  async #sampleHalves(
    target: SampleTarget,
    timeoutMs: number,
    signal: AbortSignal,
    settled: () => void = () => {},
  ): Promise<SampleOutcome> {
    const { pid } = target;
    const running = Promise.all([
      settle(() => this.collector.collectCPU(pid, signal)),
      settle(() => this.collector.collectMemory(pid, signal)),
    ]).finally(settled);
    const result = await raceAbort(running, signal);
    if (result === ABORTED) return failure(abortReason(signal, pid, timeoutMs));
    if (result[0].ok && !result[1].ok) this.#partialFailures += 1;
    return combineHalves(target, result[0], result[1]);
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

const ABORTED = Symbol('aborted');

async function settle<T>(run: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error: asError(error) };
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}

function abortReason(signal: AbortSignal, pid: number, timeoutMs: number): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError') return new CollectionTimeoutError(pid, timeoutMs);
  return asError(reason);
}

/**
 * Builds one sample from the seed's two calls. A process reported gone by
 * either half is gone; otherwise the CPU half is required (without it no rate
 * can be computed) and a failed memory half leaves memory unknown.
 */
function combineHalves(target: SampleTarget, cpu: Settled<ProcessCPU>, memory: Settled<ProcessMemory>): SampleOutcome {
  for (const half of [cpu, memory]) {
    if (!half.ok && half.error instanceof ProcessNotFoundError) return failure(half.error);
  }
  if (!cpu.ok) return failure(cpu.error);
  const c = cpu.value;
  const m = memory.ok ? memory.value : undefined;
  const sample: ProcessSample = {
    pid: target.pid,
    timestamp: c.timestamp || Date.now(),
    startTime: c.startTime,
    cpu: { user: c.user, system: c.system, childrenUser: c.childrenUser, childrenSystem: c.childrenSystem },
    cpusAvailable: c.cpusAvailable ?? null,
    memory: m
      ? { rss: m.rss, vms: m.vms, shared: m.shared, swap: m.swap, data: m.data, stack: m.stack }
      : { rss: 0, vms: null, shared: null, swap: null, data: null, stack: null },
    ...UNKNOWN_EXTRAS,
  };
  return { ok: true, sample };
}

function failure(error: Error): SampleOutcome {
  return { ok: false, error };
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function describeLength(value: unknown): string {
  return Array.isArray(value) ? String(value.length) : 'no array of';
}
