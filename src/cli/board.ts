import type { ProcessMetrics } from '../domain/metrics.js';
import type { ProcessState } from '../domain/state.js';
import { idleSnapshot } from '../tracker/snapshot.js';
import type { ProcessTracker } from '../tracker/types.js';

/**
 * Every service the command was asked about, in the order it was asked.
 *
 * The tracker only knows a service once it has had a process (track() needs a
 * pid). A `match:` with nothing matching yet, a pid file whose process is down
 * at startup, or a command that died before its first sample still deserve a
 * row: the board holds a stand-in snapshot for them until the tracker has one.
 */
export class Board {
  readonly #standIns = new Map<string, ProcessMetrics>();

  constructor(
    private readonly tracker: ProcessTracker,
    readonly names: readonly string[],
    private readonly publish: (snapshot: ProcessMetrics) => void,
  ) {}

  /**
   * The service has no process: tell the tracker when it knows the name,
   * otherwise show a stand-in. Published only when something changed.
   */
  setDown(serviceName: string, state: ProcessState, lastError: string): void {
    if (this.tracker.updateState(serviceName, state, lastError)) return;
    const previous = this.#standIns.get(serviceName);
    if (previous?.state === state && previous.lastError === lastError) return;
    const snapshot = idleSnapshot(
      { serviceName, state, healthy: false, restartCount: previous?.restartCount ?? 0, lastError },
      Date.now(),
    );
    this.#standIns.set(serviceName, snapshot);
    this.publish(snapshot);
  }

  /** The latest snapshot of every service, in the order of `names`. */
  all(): ProcessMetrics[] {
    const tracked = new Map(this.tracker.getAll().map((snapshot) => [snapshot.serviceName, snapshot]));
    return this.names.flatMap((name) => {
      const snapshot = tracked.get(name) ?? this.#standIns.get(name);
      return snapshot ? [snapshot] : [];
    });
  }
}
