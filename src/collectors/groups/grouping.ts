import type { GroupAssignment, GroupTarget, ProcessFacts, ProcessGrouping } from '../../core/groups.js';
import { assignGroups, type AssignOptions } from './assign.js';
import { compileGroupRules, type GroupRule } from './rules.js';

/**
 * Grouping rules compiled for a collector: each pass assigns the host's
 * processes to named groups (see assignGroups), the oldest member of each
 * first. `Tracker.discover(groupingOf(rules))` follows every group as a
 * service. Throws a typed error naming the rule and field that is wrong.
 */
export function groupingOf(rules: readonly GroupRule[], options: AssignOptions = {}): ProcessGrouping {
  const compiled = compileGroupRules(rules);
  // Checked now, so a bad option fails here rather than on the first pass.
  assignGroups([], compiled, options);
  return {
    needs: compiled.needs,
    assign(facts: readonly ProcessFacts[]): GroupAssignment {
      const groups = new Map<string, { pids: number[]; labels?: Readonly<Record<string, string>> }>();
      let overflowed = 0;
      for (const group of assignGroups(facts, compiled, options)) {
        const pids = [group.oldest.pid, ...group.pids.filter((pid) => pid !== group.oldest.pid)];
        // A label whose template rendered empty is left out: an empty value is no label.
        const labels = Object.fromEntries(Object.entries(group.labels).filter(([, value]) => value !== ''));
        groups.set(group.name, Object.keys(labels).length > 0 ? { pids, labels } : { pids });
        overflowed += group.foldedGroups;
      }
      return { groups, overflowed };
    },
  };
}

/** The one group a single-rule grouping makes; the service's own name is given to track(). */
const GROUP = 'group';

/**
 * A group target: every process `selector` matches, with its descendants,
 * once each, as one service whose processCount is the group's size:
 * `tracker.track('workers', processGroup({ cmdline: ['^node worker\\.js'] }))`.
 * A group with no process is tracked all the same (as stopped).
 */
export function processGroup(selector: Omit<GroupRule, 'name' | 'labels'>): { group: GroupTarget } {
  return { group: { grouping: groupingOf([{ ...selector, name: GROUP }]), group: GROUP } };
}
