import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { CollectionTimeoutError, InvalidArgumentValueError, describeValue } from '../core/errors.js';
import type { SampleOutcome, SampleTarget } from '../core/collector-port.js';
import type { Pacing } from './procfs/process-tree.js';

/**
 * The error for a target left unread because `signal` fired. A timeout (as from
 * `AbortSignal.timeout`) becomes a CollectionTimeoutError carrying how long the
 * sweep had run; any other abort keeps the signal's own reason.
 */
export function abortedError(pid: number, signal: AbortSignal, elapsedMs: number): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'TimeoutError') return reason;
  return new CollectionTimeoutError(pid, Math.round(elapsedMs));
}

/** Rejects anything that cannot be a pid, naming the value. */
export function checkPid(pid: unknown): InvalidArgumentValueError | undefined {
  if (typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0) return undefined;
  return new InvalidArgumentValueError(`pid must be a positive integer, got ${describeValue(pid)}`);
}

export interface ChunkOptions {
  /** Most targets read in one synchronous stretch. */
  chunkSize: number;
  /** A stretch also ends once it has run this long, ms. */
  chunkBudgetMs: number;
}

/**
 * A synchronous stretch of work that ends after `chunkSize` steps or
 * `chunkBudgetMs`, whichever comes first; `pause` then gives the event loop a
 * turn. Long passes (a sweep, a walk over /proc) check `over` before each step.
 */
export class Stretch {
  readonly #chunkSize: number;
  readonly #budgetMs: number;
  #startedAt = performance.now();
  #steps = 0;

  constructor({ chunkSize, chunkBudgetMs }: ChunkOptions) {
    this.#chunkSize = chunkSize;
    this.#budgetMs = chunkBudgetMs;
  }

  /** True when the next step should wait for a turn of the event loop. The clock is read per step: a first read of a process can cost a hundred times a warm one. */
  get over(): boolean {
    return this.#steps >= this.#chunkSize || (this.#steps > 0 && performance.now() - this.#startedAt > this.#budgetMs);
  }

  step(): void {
    this.#steps++;
  }

  async pause(): Promise<void> {
    await yieldToEventLoop();
    this.#startedAt = performance.now();
    this.#steps = 0;
  }
}

/**
 * Runs `readOne` over the targets in chunks, yielding to the event loop between
 * chunks so a sweep of thousands of processes never blocks it for long, and
 * checking `signal` there: targets not reached when it fires get an abort outcome.
 */
export async function sweepInChunks(
  targets: readonly SampleTarget[],
  readOne: (target: SampleTarget) => SampleOutcome,
  chunks: ChunkOptions,
  signal?: AbortSignal,
): Promise<SampleOutcome[]> {
  const started = performance.now();
  const outcomes: SampleOutcome[] = new Array<SampleOutcome>(targets.length);
  const stretch = new Stretch(chunks);
  for (let i = 0; i < targets.length; i++) {
    if (stretch.over) await stretch.pause();
    if (signal?.aborted) {
      const elapsedMs = performance.now() - started;
      return failEach(targets, (target) => abortedError(target.pid, signal, elapsedMs), undefined, outcomes, i);
    }
    outcomes[i] = readOne(targets[i] as SampleTarget);
    stretch.step();
  }
  return outcomes;
}

/**
 * `start(item)` for each item, in stretches of at most 256 items and 2 ms with
 * a turn of the event loop between them; what each call returned, in order.
 * For the synchronous start of work on thousands of targets (a read of each
 * one's stat, a track() call each), which would otherwise hold the loop in
 * one block.
 */
export async function eachInStretches<T, R>(items: Iterable<T>, start: (item: T) => R): Promise<R[]> {
  const stretch = new Stretch({ chunkSize: 256, chunkBudgetMs: 2 });
  const started: R[] = [];
  for (const item of items) {
    if (stretch.over) await stretch.pause();
    started.push(start(item));
    stretch.step();
  }
  return started;
}

/** Most failures made in one stretch of failEach: making one costs about a microsecond. */
const FAILURES_PER_STRETCH = 2048;

/**
 * A failed outcome for each target from `from` on, written into `outcomes`
 * (by default a new array): a sweep that timed out fails thousands of targets
 * at once, which is done in stretches with a turn of the event loop between
 * them, as the reads were.
 */
export async function failEach(
  targets: readonly SampleTarget[],
  errorOf: (target: SampleTarget) => Error,
  stretch: Pacing = new Stretch({ chunkSize: FAILURES_PER_STRETCH, chunkBudgetMs: 2 }),
  outcomes: SampleOutcome[] = new Array<SampleOutcome>(targets.length),
  from = 0,
): Promise<SampleOutcome[]> {
  for (let i = from; i < targets.length; i++) {
    if (stretch.over) await stretch.pause();
    outcomes[i] = { ok: false, error: errorOf(targets[i] as SampleTarget) };
    stretch.step();
  }
  return outcomes;
}
