/**
 * A cumulative counter built from a raw sum that may drop: the raw sum of a
 * process tree loses a part whenever a member leaves it without its parent in
 * the tree collecting its times (reparented, or reaped by someone else). A
 * drop is that part being reset, not negative work: the reported value adds
 * each rise of the raw sum and ignores each fall, so it never goes backwards.
 * `null` (unknown) passes through and starts the counter again from the next
 * known raw value.
 */
export class MonotonicCounter {
  #lastRaw: number | null = null;
  #total: number | null = null;

  /** The reported value after a new raw sum. The first raw value is taken whole (lifetime so far). */
  next(raw: number | null): number | null {
    if (raw === null) {
      this.#lastRaw = null;
      this.#total = null;
      return null;
    }
    if (this.#lastRaw === null || this.#total === null) this.#total = raw;
    else if (raw > this.#lastRaw) this.#total += raw - this.#lastRaw;
    this.#lastRaw = raw;
    return this.#total;
  }
}
