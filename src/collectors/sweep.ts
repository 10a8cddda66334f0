import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { CollectionTimeoutError, InvalidArgumentValueError, describeValue } from '../core/errors.js';
import type { SampleOutcome, SampleTarget } from '../core/collector-port.js';

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
      for (let j = i; j < targets.length; j++) {
        outcomes[j] = { ok: false, error: abortedError(targets[j]?.pid ?? 0, signal, performance.now() - started) };
      }
      return outcomes;
    }
    outcomes[i] = readOne(targets[i] as SampleTarget);
    stretch.step();
  }
  return outcomes;
}
