import type { ProcessMetrics } from '../core/metrics.js';
import type { Subscription } from './types.js';

/**
 * A bounded queue between the tracker (which must never wait) and one reader.
 * When the reader falls behind, the OLDEST snapshot is dropped: a reader wants
 * fresh numbers, not a backlog. Its bound may follow the tracker (a number of
 * snapshots per service): the ring then grows as far as the bound is when it
 * fills, and never shrinks.
 */
export class SnapshotChannel implements Subscription {
  #slots: (ProcessMetrics | undefined)[];
  #head = 0;
  #size = 0;
  #dropped = 0;
  #closed = false;
  #waiting: ((result: IteratorResult<ProcessMetrics>) => void) | undefined;

  constructor(
    private readonly capacity: number | (() => number),
    private readonly onDrop: () => void,
    private readonly onClose: (channel: SnapshotChannel) => void,
    /** The reader takes the tracker's own snapshots and promises not to change them: no copy is made. */
    readonly shared = false,
  ) {
    this.#slots = new Array<ProcessMetrics | undefined>(typeof capacity === 'number' ? capacity : Math.min(capacity(), 1024));
  }

  get dropped(): number {
    return this.#dropped;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Hands a snapshot to the reader, or buffers it; never blocks. */
  push(snapshot: ProcessMetrics): void {
    if (this.#closed) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting({ value: snapshot, done: false });
      return;
    }
    if (this.#size === this.#slots.length && typeof this.capacity === 'function') this.#grow(this.capacity());
    const capacity = this.#slots.length;
    if (this.#size === capacity) {
      this.#head = (this.#head + 1) % capacity;
      this.#size -= 1;
      this.#dropped += 1;
      this.onDrop();
    }
    this.#slots[(this.#head + this.#size) % capacity] = snapshot;
    this.#size += 1;
  }

  /** Doubles the ring (at most to `bound`), the oldest snapshot first. */
  #grow(bound: number): void {
    const length = this.#slots.length;
    if (bound <= length) return;
    const slots = new Array<ProcessMetrics | undefined>(Math.min(bound, length * 2));
    for (let i = 0; i < this.#size; i++) slots[i] = this.#slots[(this.#head + i) % length];
    this.#slots = slots;
    this.#head = 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#slots.fill(undefined);
    this.#size = 0;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.({ value: undefined, done: true });
    this.onClose(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<ProcessMetrics> {
    return {
      next: () => this.#next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #next(): Promise<IteratorResult<ProcessMetrics>> {
    if (this.#size > 0) {
      const snapshot = this.#slots[this.#head] as ProcessMetrics;
      this.#slots[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#slots.length;
      this.#size -= 1;
      return Promise.resolve({ value: snapshot, done: false });
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiting) {
      // One reader at a time is the contract of an async iterator; a second
      // concurrent next() would silently steal snapshots, so refuse it.
      return Promise.reject(new Error('subscription is already being read; await each next() before the next'));
    }
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }
}
