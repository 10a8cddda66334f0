import type { ProcessMetrics } from '../core/metrics.js';
import type { Subscription } from './types.js';

/**
 * A bounded queue between the tracker (which must never wait) and one reader.
 * When the reader falls behind, the OLDEST snapshot is dropped: a reader wants
 * fresh numbers, not a backlog.
 */
export class SnapshotChannel implements Subscription {
  readonly #slots: (ProcessMetrics | undefined)[];
  #head = 0;
  #size = 0;
  #dropped = 0;
  #closed = false;
  #waiting: ((result: IteratorResult<ProcessMetrics>) => void) | undefined;

  constructor(
    capacity: number,
    private readonly onDrop: () => void,
    private readonly onClose: (channel: SnapshotChannel) => void,
  ) {
    this.#slots = new Array<ProcessMetrics | undefined>(capacity);
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
