import type { ProcessMetrics } from '../../core/metrics.js';
import type { ProcessState } from '../../core/state.js';
import { hasLiveProcess } from '../../metrics/metric-table.js';
import type { ProcessTracker } from '../../tracker/types.js';

/**
 * Every service the command was asked about, in the order it was asked.
 * A service with no process yet (a `match:` with nothing matching, a pid file
 * whose process is down, a command that died before its first sample) is
 * registered with the tracker, so it is published and exported like the rest.
 */
export class Board {
  constructor(
    private readonly tracker: ProcessTracker,
    readonly names: readonly string[],
    /** Also show every other service the tracker has (discovered groups), after `names`, by name. */
    private readonly others = false,
  ) {}

  /** The service has no process. The tracker publishes the change, and nothing when nothing changed. */
  setDown(serviceName: string, state: ProcessState, lastError: string): void {
    if (!this.tracker.updateState(serviceName, state, lastError)) this.tracker.register(serviceName, state, lastError);
  }

  /** Whether the service has a live process now (running, starting or stopping, with a pid). */
  isLive(serviceName: string): boolean {
    const snapshot = this.tracker.get(serviceName);
    return snapshot !== undefined && hasLiveProcess(snapshot);
  }

  /** The latest snapshot of every service, in the order of `names`. */
  all(): ProcessMetrics[] {
    const tracked = new Map(this.tracker.getAll().map((snapshot) => [snapshot.serviceName, snapshot]));
    const named = this.names.flatMap((name) => {
      const snapshot = tracked.get(name);
      if (snapshot === undefined) return [];
      tracked.delete(name);
      return [snapshot];
    });
    if (!this.others) return named;
    return [
      ...named,
      ...[...tracked.values()].sort((a, b) => (a.serviceName < b.serviceName ? -1 : a.serviceName > b.serviceName ? 1 : 0)),
    ];
  }
}
