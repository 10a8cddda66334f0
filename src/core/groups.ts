/**
 * The port between grouping rules and the collectors that list a host's
 * processes. A collector reads the facts the rules need (no more) for every
 * process once per sweep, hands them to `assign`, and reads each group's
 * members as one sample. The rules themselves live in collectors/groups.
 */

/** What a collector knows of one process for grouping; null where it could not read a fact or none was asked for. */
export interface ProcessFacts {
  readonly pid: number;
  readonly ppid: number;
  /** Start, clock ticks after boot (with `pid`, the process's identity). */
  readonly startTicks: number;
  /** The command name of /proc/PID/stat (at most 15 bytes). */
  readonly comm: string;
  /** The executable's full path (readlink /proc/PID/exe). */
  readonly exe: string | null;
  /** The command line, one element per argument. */
  readonly argv: readonly string[] | null;
  /** The real user id. */
  readonly uid: number | null;
  /** The user name of `uid`, when the host's passwd file names it. */
  readonly user: string | null;
  /** The cgroup v2 path (`0::/...` of /proc/PID/cgroup), e.g. /system.slice/nginx.service. */
  readonly cgroup: string | null;
}

/** Which of the facts that cost a read of their own a rule set looks at. */
export interface FactNeeds {
  exe: boolean;
  argv: boolean;
  user: boolean;
  cgroup: boolean;
}

/** One group of an assignment. */
interface AssignedGroup {
  /** Member pids, each once; the first is the group's oldest process. */
  readonly pids: readonly number[];
  /** Extra labels of the group, from its rule. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The host's processes split into named groups. */
export interface GroupAssignment {
  readonly groups: ReadonlyMap<string, AssignedGroup>;
  /** Groups past the limit whose processes were summed into the overflow group. */
  readonly overflowed: number;
}

/** Compiled grouping rules, as a collector uses them. */
export interface ProcessGrouping {
  readonly needs: Readonly<FactNeeds>;
  /** Assigns every process to at most one group. Pure: the same facts give the same groups. */
  assign(facts: readonly ProcessFacts[]): GroupAssignment;
}

/** A group of processes read as one service: `group` of the assignment `grouping` makes. */
export interface GroupTarget {
  readonly grouping: ProcessGrouping;
  readonly group: string;
}
