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
 * Runs `readOne` over the targets in chunks, yielding to the event loop between
 * chunks so a sweep of thousands of processes never blocks it for long, and
 * checking `signal` there: targets not reached when it fires get an abort outcome.
 */
export async function sweepInChunks(
  targets: readonly SampleTarget[],
  readOne: (target: SampleTarget) => SampleOutcome,
  { chunkSize, chunkBudgetMs }: ChunkOptions,
  signal?: AbortSignal,
): Promise<SampleOutcome[]> {
  const started = performance.now();
  const outcomes: SampleOutcome[] = new Array<SampleOutcome>(targets.length);
  let chunkStart = started;
  let inChunk = 0;
  for (let i = 0; i < targets.length; i++) {
    // The clock is read per target: a first read of a process (opening fds, walking
    // its cgroups) can cost a hundred times a warm one.
    if (inChunk >= chunkSize || (inChunk > 0 && performance.now() - chunkStart > chunkBudgetMs)) {
      await yieldToEventLoop();
      chunkStart = performance.now();
      inChunk = 0;
    }
    if (signal?.aborted) {
      for (let j = i; j < targets.length; j++) {
        outcomes[j] = { ok: false, error: abortedError(targets[j]?.pid ?? 0, signal, performance.now() - started) };
      }
      return outcomes;
    }
    outcomes[i] = readOne(targets[i] as SampleTarget);
    inChunk++;
  }
  return outcomes;
}
