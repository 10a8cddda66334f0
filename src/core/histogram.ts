/** A cumulative histogram of durations: counts per bucket, their sum and count. */
export interface DurationHistogram {
  /** Upper bounds of the buckets, ms, ascending; a last bucket (+Inf) follows them. */
  readonly boundsMs: readonly number[];
  /** Observations per bucket (not cumulative), `boundsMs.length + 1` of them. */
  readonly counts: readonly number[];
  /** Sum of all observations, ms. */
  readonly sumMs: number;
  readonly count: number;
}

/** Tick durations, ms: from a quick tick of a few services to one that overran a long interval. */
export const TICK_DURATION_BOUNDS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/** Records durations into fixed buckets; `value()` hands out a copy. */
export class DurationRecorder {
  readonly #counts: number[];
  #sumMs = 0;
  #count = 0;

  constructor(readonly boundsMs: readonly number[]) {
    this.#counts = new Array<number>(boundsMs.length + 1).fill(0);
  }

  record(durationMs: number): void {
    let bucket = 0;
    while (bucket < this.boundsMs.length && durationMs > (this.boundsMs[bucket] as number)) bucket += 1;
    this.#counts[bucket] = (this.#counts[bucket] as number) + 1;
    this.#sumMs += durationMs;
    this.#count += 1;
  }

  value(): DurationHistogram {
    return { boundsMs: this.boundsMs, counts: [...this.#counts], sumMs: this.#sumMs, count: this.#count };
  }
}

/** Two histograms with the same bounds, added up. */
export function addHistograms(a: DurationHistogram, b: DurationHistogram): DurationHistogram {
  if (a.boundsMs.length !== b.boundsMs.length || a.boundsMs.some((bound, i) => bound !== b.boundsMs[i])) {
    throw new RangeError('histograms with different bounds cannot be added');
  }
  return {
    boundsMs: a.boundsMs,
    counts: a.counts.map((count, i) => count + (b.counts[i] ?? 0)),
    sumMs: a.sumMs + b.sumMs,
    count: a.count + b.count,
  };
}
