import type { ProcessSample } from '../../core/collector-port.js';
import { MonotonicCounter } from './monotonic.js';

/** One process of a tree as read this sweep. */
export interface TreeMember {
  sample: ProcessSample;
  /** cminflt and cmajflt of /proc/PID/stat: faults of its reaped children. */
  childrenMinorFaults: number;
  childrenMajorFaults: number;
  /** Exited but not yet reaped: its CPU times still count, it holds no memory and is not counted as a process. */
  zombie: boolean;
}

/**
 * The cumulative counters of one tree, kept across sweeps (see MonotonicCounter):
 * the raw sums drop when a member leaves the tree uncollected, the reported
 * values never do.
 */
export class TreeCounters {
  readonly user = new MonotonicCounter();
  readonly system = new MonotonicCounter();
  readonly readBytes = new MonotonicCounter();
  readonly writeBytes = new MonotonicCounter();
  readonly voluntary = new MonotonicCounter();
  readonly involuntary = new MonotonicCounter();
  readonly majorFaults = new MonotonicCounter();
  readonly minorFaults = new MonotonicCounter();
}

/**
 * A field summed over the members, null when the root's is unknown: a
 * member's unknown field (another user's process) counts as 0 there.
 */
function sumKnown(members: readonly TreeMember[], field: (sample: ProcessSample) => number | null): number | null {
  const root = members[0];
  if (root === undefined || field(root.sample) === null) return null;
  let total = 0;
  for (const member of members) total += field(member.sample) ?? 0;
  return total;
}

/**
 * One sample for a whole tree, `members[0]` being the root. CPU times count
 * every member's own time plus the time of the children it reaped (cutime,
 * cstime), so a child that lived and died between two sweeps is not lost: a
 * reaped member's times move into its parent's children times, and the sum
 * stays level. The children fields are therefore 0: they are part of user and
 * system. I/O bytes follow the same rule (/proc/PID/io includes reaped
 * children). Gauges (memory, threads, fds) are plain sums over the live members.
 */
export function treeSample(members: readonly TreeMember[], counters: TreeCounters): ProcessSample {
  const root = (members[0] as TreeMember).sample;
  let user = 0;
  let system = 0;
  let minor = 0;
  let major = 0;
  let live = 0;
  for (const { sample, childrenMinorFaults, childrenMajorFaults, zombie } of members) {
    user += sample.cpu.user + sample.cpu.childrenUser;
    system += sample.cpu.system + sample.cpu.childrenSystem;
    minor += (sample.minorFaults ?? 0) + childrenMinorFaults;
    major += (sample.majorFaults ?? 0) + childrenMajorFaults;
    if (!zombie) live++;
  }
  return {
    pid: root.pid,
    timestamp: root.timestamp,
    startTime: root.startTime,
    cpu: {
      user: counters.user.next(user) ?? 0,
      system: counters.system.next(system) ?? 0,
      childrenUser: 0,
      childrenSystem: 0,
    },
    cpusAvailable: root.cpusAvailable,
    memory: {
      rss: sumKnown(members, (s) => s.memory.rss) ?? 0,
      vms: sumKnown(members, (s) => s.memory.vms),
      shared: sumKnown(members, (s) => s.memory.shared),
      swap: sumKnown(members, (s) => s.memory.swap),
      data: sumKnown(members, (s) => s.memory.data),
      stack: sumKnown(members, (s) => s.memory.stack),
      pss: sumKnown(members, (s) => s.memory.pss ?? null),
      uss: sumKnown(members, (s) => s.memory.uss ?? null),
    },
    numThreads: sumKnown(members, (s) => s.numThreads),
    numFDs: sumKnown(members, (s) => s.numFDs),
    readBytes: counters.readBytes.next(sumKnown(members, (s) => s.readBytes)),
    writeBytes: counters.writeBytes.next(sumKnown(members, (s) => s.writeBytes)),
    voluntaryContextSwitches: counters.voluntary.next(sumKnown(members, (s) => s.voluntaryContextSwitches)),
    involuntaryContextSwitches: counters.involuntary.next(sumKnown(members, (s) => s.involuntaryContextSwitches)),
    majorFaults: counters.majorFaults.next(root.majorFaults === null ? null : major),
    minorFaults: counters.minorFaults.next(root.minorFaults === null ? null : minor),
    processCount: live,
  };
}

/**
 * A group with no process right now: nothing running, nothing held, and the
 * cumulative counters at the level they reached (a later member adds to it).
 */
export function emptyTreeSample(counters: TreeCounters, timestamp: number): ProcessSample {
  return {
    pid: 0,
    timestamp,
    startTime: 0,
    cpu: { user: counters.user.next(0) ?? 0, system: counters.system.next(0) ?? 0, childrenUser: 0, childrenSystem: 0 },
    cpusAvailable: null,
    memory: { rss: 0, vms: 0, shared: 0, swap: 0, data: 0, stack: 0, pss: 0, uss: 0 },
    numThreads: 0,
    numFDs: 0,
    readBytes: counters.readBytes.next(0),
    writeBytes: counters.writeBytes.next(0),
    voluntaryContextSwitches: counters.voluntary.next(0),
    involuntaryContextSwitches: counters.involuntary.next(0),
    majorFaults: counters.majorFaults.next(0),
    minorFaults: counters.minorFaults.next(0),
    processCount: 0,
  };
}
