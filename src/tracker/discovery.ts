import { TrackerClosedError, UnsupportedTargetError } from '../core/errors.js';
import type { Collector } from '../core/collector-port.js';
import type { ProcessGrouping } from '../core/groups.js';
import type { DiscoveryPass, GroupTargetSpec, TrackOptions } from './types.js';

/** What discovery needs of a tracker: the same calls a user makes. */
export interface DiscoveryHost {
  track(serviceName: string, target: GroupTargetSpec, options?: TrackOptions): Promise<void>;
  untrack(serviceName: string): boolean;
  get(serviceName: string): unknown;
}

/**
 * Keeps a tracker's services in step with the groups `grouping` makes of the
 * host's processes: a group that appears is tracked (a group target, so its
 * figures are the group's sums), a group that has emptied is untracked and
 * leaves the scrape. Only the groups it tracked itself are ever untracked.
 */
export class GroupDiscovery {
  readonly #followed = new Set<string>();
  #last: DiscoveryPass = { groups: 0, overflowed: 0, added: 0, removed: 0, failed: 0 };
  #pass: Promise<DiscoveryPass> | undefined;

  constructor(
    private readonly tracker: DiscoveryHost,
    private readonly collector: Collector,
    private readonly grouping: ProcessGrouping,
    /** Labels every group gets; a rule's own labels win. */
    private readonly labels: Readonly<Record<string, string>> = {},
  ) {
    if (collector.assignGroups === undefined) {
      throw new UnsupportedTargetError('discovery needs a collector that lists processes (ProcfsCollector)');
    }
  }

  /** The groups tracked by discovery now. */
  groups(): string[] {
    return [...this.#followed];
  }

  /** What the latest pass found. */
  get last(): DiscoveryPass {
    return this.#last;
  }

  /** One pass: assign the host's processes, then track and untrack to match. Passes never overlap. */
  refresh(): Promise<DiscoveryPass> {
    this.#pass ??= this.#refresh().finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  async #refresh(): Promise<DiscoveryPass> {
    const assign = this.collector.assignGroups?.bind(this.collector);
    if (assign === undefined) return this.#last;
    let assignment;
    try {
      assignment = await assign(this.grouping);
    } catch {
      // /proc could not be listed (the collector counts it): keep what is tracked until the next pass.
      return this.#last;
    }
    let added = 0;
    let removed = 0;
    let failed = 0;
    for (const name of this.#followed) {
      if (assignment.groups.has(name)) continue;
      this.#followed.delete(name);
      if (this.tracker.untrack(name)) removed += 1;
    }
    for (const [name, group] of assignment.groups) {
      if (this.#followed.has(name)) continue;
      // A service of the same name tracked by someone else is theirs: tracking it here would restart it.
      if (this.tracker.get(name) !== undefined) {
        failed += 1;
        continue;
      }
      const labels = { ...this.labels, ...group.labels };
      try {
        await this.tracker.track(
          name,
          { group: { grouping: this.grouping, group: name } },
          Object.keys(labels).length > 0 ? { labels } : {},
        );
        this.#followed.add(name);
        added += 1;
      } catch (error) {
        // A closed tracker ends discovery's work; anything else is tried again next pass.
        if (error instanceof TrackerClosedError) break;
        failed += 1;
      }
    }
    this.#last = { groups: assignment.groups.size, overflowed: assignment.overflowed, added, removed, failed };
    return this.#last;
  }

  /** Untracks every group discovery tracked. */
  forget(): void {
    for (const name of this.#followed) this.tracker.untrack(name);
    this.#followed.clear();
  }
}
