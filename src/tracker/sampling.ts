import { setImmediate as nextTurn } from 'node:timers/promises';
import { CollectionTimeoutError, asError } from '../core/errors.js';
import type { Collector, SampleOutcome, SampleTarget } from '../core/collector-port.js';
import { failEach } from '../collectors/sweep.js';

/**
 * Reads targets through the collector within a time budget. Never rejects:
 * each target gets an outcome, and a collector that throws or hangs costs only
 * the targets it was asked about, this time.
 */
export class Sampler {
  /** The last tick's sweep has not settled yet (it timed out and the collector never finished). */
  #sweepPending = false;

  constructor(private readonly collector: Collector) {}

  /**
   * One tick's sweep. Work the collector never finished is not joined by more:
   * while the last sweep is still pending, every target times out at once, so
   * a hung collector cannot pile up work tick after tick.
   */
  async sweep(targets: readonly SampleTarget[], timeoutMs: number, stop?: AbortSignal): Promise<SampleOutcome[]> {
    if (targets.length === 0) return [];
    if (this.#sweepPending) return failEach(targets, (t) => new CollectionTimeoutError(t.pid, timeoutMs));
    this.#sweepPending = true;
    const budget = deadline(timeoutMs);
    // A stop ends the sweep as its budget would: shutdown must not wait out a long sweep.
    const signal = stop ? AbortSignal.any([stop, budget.signal]) : budget.signal;
    try {
      return await this.#sample(targets, timeoutMs, signal, () => {
        this.#sweepPending = false;
      });
    } finally {
      budget.clear();
    }
  }

  /**
   * Targets outside the tick (the first samples of track() calls), in one call
   * of the collector within one budget; runs beside a sweep in flight.
   */
  async sampleSome(targets: readonly SampleTarget[], timeoutMs: number, signal?: AbortSignal): Promise<SampleOutcome[]> {
    const budget = deadline(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, budget.signal]) : budget.signal;
    try {
      return await this.#sample(targets, timeoutMs, combined, () => {});
    } finally {
      budget.clear();
    }
  }

  async #sample(
    targets: readonly SampleTarget[],
    timeoutMs: number,
    signal: AbortSignal,
    /** Runs when the collector's work has really ended, which may be after the timeout. */
    settled: () => void,
  ): Promise<SampleOutcome[]> {
    const running = settle(() => this.collector.sample(targets, signal)).finally(settled);
    const result = await withinBudget(running, signal);
    if (result === ABORTED) return failEach(targets, (t) => abortReason(signal, t.pid, timeoutMs));
    if (!result.ok) return targets.map(() => failure(result.error));
    const outcomes: unknown = result.value;
    if (!Array.isArray(outcomes) || outcomes.length !== targets.length) {
      const error = new Error(`collector.sample returned ${describeLength(outcomes)} outcomes for ${targets.length} targets`);
      return targets.map(() => failure(error));
    }
    return outcomes.map((outcome: unknown, i) => checkOutcome(outcome, targets[i] as SampleTarget));
  }
}

/**
 * A signal that aborts with a TimeoutError after `timeoutMs`, and a way to
 * drop its timer once the work is done: unlike AbortSignal.timeout(), a burst
 * of calls leaves no timers behind.
 */
function deadline(timeoutMs: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('sample timed out', 'TimeoutError')), timeoutMs);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
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

/**
 * The collector's result, or ABORTED. A collector that honours the signal
 * gets one turn of the event loop after it fires to hand back what it read,
 * so the processes it did reach are not counted as timed out.
 */
function withinBudget<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  let done = false;
  const result = promise.then((value) => {
    done = true;
    return value;
  });
  if (signal.aborted) return Promise.race([result, nextTurn(ABORTED)]);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      void nextTurn().then(() => {
        if (!done) resolve(ABORTED);
      });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void result.then((value) => {
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

/** A collector's outcome as the tracker can use it; anything malformed is an error of the collector. */
function checkOutcome(outcome: unknown, target: SampleTarget): SampleOutcome {
  if (typeof outcome === 'object' && outcome !== null) {
    const o = outcome as { ok?: unknown; error?: unknown; sample?: unknown };
    if (o.ok === false) return failure(asError(o.error));
    if (o.ok === true && typeof o.sample === 'object' && o.sample !== null) return outcome as SampleOutcome;
  }
  return failure(new Error(`collector.sample returned a malformed outcome for pid ${target.pid}`));
}

function failure(error: Error): SampleOutcome {
  return { ok: false, error };
}

function describeLength(value: unknown): string {
  return Array.isArray(value) ? String(value.length) : 'no array of';
}
