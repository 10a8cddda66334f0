import { InvalidArgumentValueError } from '../../core/errors.js';
import { DEFAULT_MAX_GROUPS, DEFAULT_OVERFLOW_GROUP_NAME } from '../../core/limits.js';
import type { ProcessFacts } from './facts.js';
import { matchProcess, type CompiledGroupRules } from './rules.js';

/** One group of processes. */
export interface ProcessGroup {
  readonly name: string;
  /** The labels of the rule that formed it, rendered for its first member; {} for the overflow group. */
  readonly labels: Readonly<Record<string, string>>;
  /** Index of the rule that formed it; null for the overflow group. */
  readonly rule: number | null;
  /** Member pids. */
  readonly pids: readonly number[];
  /** The member that started first (lowest startTicks, then lowest pid): the group's pid and start. */
  readonly oldest: { readonly pid: number; readonly startTicks: number };
  /** For the overflow group, how many groups were summed into it; 0 for the others. */
  readonly foldedGroups: number;
}

export interface AssignOptions {
  /** Most groups returned, the overflow group included (default DEFAULT_MAX_GROUPS); at least 1. */
  readonly maxGroups?: number;
  /** Name of the group the groups beyond maxGroups are summed into (default 'other'). */
  readonly overflowName?: string;
}

interface Building {
  name: string;
  labels: Readonly<Record<string, string>>;
  rule: number | null;
  pids: number[];
  oldestPid: number;
  oldestTicks: number;
  foldedGroups: number;
}

const NONE = -1;
const UNKNOWN = -2;
const VISITING = -3;

function addMember(group: Building, facts: ProcessFacts): void {
  group.pids.push(facts.pid);
  if (facts.startTicks < group.oldestTicks || (facts.startTicks === group.oldestTicks && facts.pid < group.oldestPid)) {
    group.oldestTicks = facts.startTicks;
    group.oldestPid = facts.pid;
  }
}

/**
 * Puts each process in at most one group.
 * - The first rule that matches a process decides its group (by rendered name:
 *   processes whose names render alike share a group).
 * - A process no rule matches joins the group of its nearest matched ancestor
 *   when that ancestor's rule has `children` (the default); otherwise it is in
 *   no group. A parent that started after its child is not its parent (the pid
 *   was reused). Each process's ancestry is resolved once, so the pass is
 *   linear in the number of processes.
 * - When there are more than maxGroups groups, the maxGroups-1 largest (most
 *   members, then name) are kept and the others are summed into one overflow
 *   group, last in the list, whose foldedGroups says how many it holds. A kept
 *   group that has the overflow group's name is summed into it too.
 * Groups are returned largest first, then by name.
 */
export function assignGroups(facts: readonly ProcessFacts[], rules: CompiledGroupRules, options: AssignOptions = {}): ProcessGroup[] {
  const maxGroups = options.maxGroups ?? DEFAULT_MAX_GROUPS;
  if (!Number.isSafeInteger(maxGroups) || maxGroups < 1) {
    throw new InvalidArgumentValueError(`maxGroups must be a positive integer; got ${String(maxGroups)}`);
  }
  const overflowName = options.overflowName ?? DEFAULT_OVERFLOW_GROUP_NAME;
  if (overflowName === '') throw new InvalidArgumentValueError('overflowName must not be empty');

  const count = facts.length;
  const indexOfPid = new Map<number, number>();
  for (let i = 0; i < count; i++) indexOfPid.set((facts[i] as ProcessFacts).pid, i);

  const groups: Building[] = [];
  const byName = new Map<string, number>();
  // group[i]: the group of process i; inherit[i]: the group its unmatched descendants join.
  const group = new Int32Array(count).fill(UNKNOWN);
  const inherit = new Int32Array(count).fill(UNKNOWN);

  for (let i = 0; i < count; i++) {
    const process = facts[i] as ProcessFacts;
    const match = matchProcess(rules, process);
    if (match === null) continue;
    let id = byName.get(match.name);
    if (id === undefined) {
      id = groups.length;
      byName.set(match.name, id);
      groups.push({
        name: match.name,
        labels: match.labels,
        rule: match.rule,
        pids: [],
        oldestPid: process.pid,
        oldestTicks: process.startTicks,
        foldedGroups: 0,
      });
    }
    group[i] = id;
    inherit[i] = match.children ? id : NONE;
  }

  const parentOf = (i: number): number => {
    const process = facts[i] as ProcessFacts;
    if (process.ppid === process.pid) return -1;
    const parent = indexOfPid.get(process.ppid);
    if (parent === undefined || (facts[parent] as ProcessFacts).startTicks > process.startTicks) return -1;
    return parent;
  };

  // Resolve unmatched processes by walking up to the first resolved ancestor,
  // then writing the answer down the walked chain: each process is walked once.
  const chain: number[] = [];
  for (let i = 0; i < count; i++) {
    if (inherit[i] !== UNKNOWN) continue;
    let at = i;
    let answer = NONE;
    while (at !== -1) {
      const known = inherit[at] as number;
      if (known === VISITING) break; // a cycle of ppids: no group
      if (known !== UNKNOWN) {
        answer = known;
        break;
      }
      inherit[at] = VISITING;
      chain.push(at);
      at = parentOf(at);
    }
    for (const walked of chain) {
      inherit[walked] = answer;
      group[walked] = answer;
    }
    chain.length = 0;
  }

  for (let i = 0; i < count; i++) {
    const id = group[i] as number;
    if (id >= 0) addMember(groups[id] as Building, facts[i] as ProcessFacts);
  }

  const bySize = (a: Building, b: Building): number => b.pids.length - a.pids.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  groups.sort(bySize);
  if (groups.length > maxGroups) {
    const kept = groups.slice(0, maxGroups - 1);
    const folded = groups.slice(maxGroups - 1);
    const same = kept.findIndex((candidate) => candidate.name === overflowName);
    if (same !== -1) folded.push(...kept.splice(same, 1));
    const overflow: Building = {
      name: overflowName,
      labels: {},
      rule: null,
      pids: [],
      oldestPid: 0,
      oldestTicks: Infinity,
      foldedGroups: folded.length,
    };
    for (const member of folded) {
      overflow.pids.push(...member.pids);
      if (
        member.oldestTicks < overflow.oldestTicks ||
        (member.oldestTicks === overflow.oldestTicks && member.oldestPid < overflow.oldestPid)
      ) {
        overflow.oldestTicks = member.oldestTicks;
        overflow.oldestPid = member.oldestPid;
      }
    }
    groups.length = 0;
    groups.push(...kept, overflow);
  }
  return groups.map((built) => ({
    name: built.name,
    labels: built.labels,
    rule: built.rule,
    pids: built.pids,
    oldest: { pid: built.oldestPid, startTicks: built.oldestTicks },
    foldedGroups: built.foldedGroups,
  }));
}
