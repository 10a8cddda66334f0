import { existsSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { InvalidArgumentValueError, ProcessNotFoundError, asError, describeValue } from '../core/errors.js';
import { numberOption, pathOption, validateOptions } from '../core/validate.js';
import type { Collector, ProcessSample, SampleOutcome, SampleTarget } from '../core/collector-port.js';
import type { FactNeeds, GroupAssignment, GroupTarget, ProcessFacts, ProcessGrouping } from '../core/groups.js';
import { ErrorCounts } from '../core/error-counts.js';
import { Stretch, checkPid, sweepInChunks } from './sweep.js';
import { CpuLimitReader } from './procfs/cpu-limit.js';
import { FollowedProcess, IO, STAT, STATM, STATUS } from './procfs/followed.js';
import type { ProcFile } from './procfs/followed.js';
import { machineConstants, readBootTimeMs, readOpenFilesLimit } from './procfs/machine.js';
import { isGone, startTimeMs } from './procfs/process-table.js';
import { CgroupReader } from './cgroup/reader.js';
import { findCgroupMounts, type CgroupMounts } from './cgroup/mounts.js';
import { descendantsOf, scanParents, type ParentIndex } from './procfs/process-tree.js';
import { TreeCounters, emptyTreeSample, treeSample, type TreeMember } from './procfs/tree-sample.js';
import { ProcessFactsReader } from './procfs/process-facts.js';
import { emptyProcStat, emptyProcStatm, parseStatInto, parseStatmInto } from './procfs/parse-stat.js';
import { emptyProcStatus, parseIoInto, parseStatusInto } from './procfs/parse-status.js';
import type { ProcIo, ProcStatus } from './procfs/parse-status.js';
import { HostRoot } from './procfs/host-root.js';
import { parseSmapsRollup } from './procfs/parse-smaps.js';
import { ProcParseError } from './procfs/parse-error.js';
import { readSmallFile } from './procfs/read-text.js';

/** How long one pass over /proc serves the trees of later sweeps and track() calls, ms, by default. */
const DEFAULT_TREE_INDEX_MAX_AGE_MS = 500;
/** smaps_rollup costs the kernel a walk of every mapping: PSS and USS move slowly enough for this. */
const DEFAULT_SMAPS_INTERVAL_MS = 30_000;
/**
 * At most this much of a sweep goes to smaps_rollup, ms: one read of a large
 * process (a Node.js heap, say) takes several ms, and a tree of many of them
 * must not hold the event loop or a core. Readings past it wait for a later
 * sweep, the last one kept meanwhile.
 */
const SMAPS_BUDGET_MS = 20;

/**
 * `basic`: what /proc/PID/stat and statm give (CPU times, start time, RSS, VMS,
 * shared, data, threads, faults). `full` adds status (swap, stack, context
 * switches), io (storage bytes) and the number of open fds.
 */
export type ProcfsFields = 'basic' | 'full';

export interface ProcfsCollectorOptions {
  /** Where procfs is mounted (default: the machine's procfs); tests point it at a fixture tree. */
  procRoot?: string;
  /** Field set (default 'full'). */
  fields?: ProcfsFields;
  /**
   * Most fds held open across sweeps (default: half of this process's
   * open-files limit, at most 16384). Each followed process needs 2 (basic) or
   * 4 (full); processes beyond the cap are read by open/read/close.
   */
  maxOpenFds?: number;
  /** Forget a pid (and close its fds) after this many sweeps without it (default 3). */
  forgetAfterSweeps?: number;
  /**
   * How long one pass over /proc, which finds the descendants of tree targets,
   * serves later sweeps and track() calls, ms (default 500; 0: a pass per sweep).
   */
  treeIndexMaxAgeMs?: number;
  /**
   * How often each process's PSS and USS are read from smaps_rollup, ms
   * (default 30000; 0 never reads them). Only with fields 'full', and only
   * where the kernel has smaps_rollup (4.14 and later).
   */
  smapsIntervalMs?: number;
  /** Most processes read in one synchronous stretch (default 256). */
  chunkSize?: number;
  /** A stretch also ends after this long, ms (default 2: room under a 10 ms stall for a GC pause or a busy host). */
  chunkBudgetMs?: number;
  /** Prefix for the cgroup mount points found in mountinfo (default ''): tests, or a host root mounted at /host. */
  hostRoot?: string;
  /**
   * Where the cgroup hierarchies are mounted, for cgroup targets (default: found
   * in <procRoot>/self/mountinfo, prefixed by `hostRoot`); tests point it at fixture trees.
   */
  cgroupMounts?: CgroupMounts;
  /** Overrides CLK_TCK (default: `getconf CLK_TCK`, else 100). */
  clockTicksPerSecond?: number;
  /** Overrides the page size, bytes (default: `getconf PAGESIZE`, else 4096). */
  pageSizeBytes?: number;
}

/** A tree member as read in the current sweep, for a process started at `startTime` (ms). */
interface MemberRead {
  readonly startTime: number;
  readonly read: TreeMember | Error;
}

/** Default for `chunkSize`: about 2.5 ms of basic reads on a slow machine. */
export const DEFAULT_CHUNK_SIZE = 256;
const PROC_SUPER_MAGIC = 0x9fa0;
const BASIC_FILES: readonly ProcFile[] = [STAT, STATM];
const FULL_FILES: readonly ProcFile[] = [STAT, STATM, STATUS, IO];

/** An option that must be a number of at least `min` (an integer unless `integer` is false). */

/** The cgroupMounts option: undefined, or an object of mount paths. */
function cgroupMountsOption(value: unknown): CgroupMounts | undefined {
  if (value === undefined) return undefined;
  validateOptions(value, 'options.cgroupMounts');
  const mounts: CgroupMounts = {};
  for (const key of ['v2', 'cpuacct', 'cpu', 'memory', 'pids'] as const) {
    const path: unknown = (value as Record<string, unknown>)[key];
    if (path !== undefined) mounts[key] = pathOption(`cgroupMounts.${key}`, path, '');
  }
  return mounts;
}

/**
 * Linux collector over /proc. Identity is (pid, start time): the fds of each
 * followed process stay open and are re-read with pread every sweep, so a
 * process that exited is noticed even when its pid was reused, and a target's
 * `startTime` is compared with the one read. Per-field failures leave the field
 * null and are counted in `errorCounts()`; nothing is logged.
 */
export class ProcfsCollector implements Collector {
  readonly fields: ProcfsFields;
  readonly maxOpenFds: number;
  private readonly root: HostRoot;
  private readonly clockTicksPerSecond: number;
  private readonly pageSizeBytes: number;
  private readonly bootTimeMs: number;
  private readonly forgetAfterSweeps: number;
  private readonly chunks: { chunkSize: number; chunkBudgetMs: number };
  private readonly files: readonly ProcFile[];
  private readonly fdCountByStat: boolean;
  private readonly errors = new ErrorCounts();
  private readonly cpuLimits: CpuLimitReader;
  private readonly cgroupMounts: CgroupMounts | undefined;
  /** Made on the first cgroup target. */
  private cgroups: CgroupReader | undefined;
  private readonly followed = new Map<number, FollowedProcess>();
  private heldFds = 0;
  private readonly treeIndexMaxAgeMs: number;
  /** 0 when PSS and USS are not read (turned off, or no smaps_rollup on this kernel). */
  private readonly smapsIntervalMs: number;
  /** Time spent reading smaps_rollup in this sweep, ms. */
  private smapsSpentMs = 0;
  /** The last pass over /proc for trees and groups. */
  private lastWalk: HostWalk | undefined;
  /** The pass under way, which sweeps and discovery passes needing no more than it reads share. */
  private pendingWalk: { needs: FactNeeds | undefined; walk: Promise<HostWalk> } | undefined;
  /** maxOpenFds, lowered when the process's own fd limit is hit first. */
  private fdCapacity: number;
  private sweeps = 0;
  private closed = false;
  // One set of buffers and scratch records for every read: a sweep is synchronous per process.
  // 1 KiB holds the first 24 fields of any stat line (the name is at most 64 bytes) and all of statm and io.
  private readonly smallBuffer = Buffer.allocUnsafe(1024);
  private statusBuffer = Buffer.allocUnsafe(8192);
  private readonly stat = emptyProcStat();
  private readonly statm = emptyProcStatm();
  private readonly status = emptyProcStatus();
  private readonly io: ProcIo = { readBytes: 0, writeBytes: 0 };
  /** Made on the first group target. */
  private factsReader: ProcessFactsReader | undefined;
  /** What every grouping seen so far needs read: a host scan reads it for all of them. */
  private factNeeds: FactNeeds = { exe: false, argv: false, user: false, cgroup: false };
  /** Each group's cumulative counters, by grouping and group name, with the sweep that last read it. */
  private readonly groupCounters = new Map<ProcessGrouping, Map<string, { counters: TreeCounters; lastSweep: number }>>();

  constructor(options: ProcfsCollectorOptions = {}) {
    validateOptions(options, 'options');
    // Unknown until checked: the options may come from JavaScript.
    const fields: unknown = options.fields === undefined ? 'full' : options.fields;
    if (fields !== 'basic' && fields !== 'full') {
      throw new InvalidArgumentValueError(`option fields must be 'basic' or 'full', got ${describeValue(fields)}`);
    }
    this.fields = fields;
    this.files = fields === 'full' ? FULL_FILES : BASIC_FILES;
    this.root = new HostRoot(
      pathOption('procRoot', options.procRoot, HostRoot.live.proc),
      pathOption('hostRoot', options.hostRoot, '', true),
    );
    const machine = machineConstants();
    this.clockTicksPerSecond = numberOption('clockTicksPerSecond', options.clockTicksPerSecond, machine.clockTicksPerSecond);
    this.pageSizeBytes = numberOption('pageSizeBytes', options.pageSizeBytes, machine.pageSizeBytes);
    // Lazily, so an explicit cap spares reading /proc/self/limits.
    const defaultMaxOpenFds = options.maxOpenFds === undefined ? Math.min(16_384, Math.floor(readOpenFilesLimit() / 2)) : 0;
    this.maxOpenFds = numberOption('maxOpenFds', options.maxOpenFds, defaultMaxOpenFds, 0);
    this.fdCapacity = this.maxOpenFds;
    this.forgetAfterSweeps = numberOption('forgetAfterSweeps', options.forgetAfterSweeps, 3);
    this.treeIndexMaxAgeMs = numberOption('treeIndexMaxAgeMs', options.treeIndexMaxAgeMs, DEFAULT_TREE_INDEX_MAX_AGE_MS, 0);
    const smapsIntervalMs = numberOption('smapsIntervalMs', options.smapsIntervalMs, DEFAULT_SMAPS_INTERVAL_MS, 0);
    this.smapsIntervalMs = smapsIntervalMs > 0 && existsSync(this.root.pid('self', 'smaps_rollup')) ? smapsIntervalMs : 0;
    this.chunks = {
      chunkSize: numberOption('chunkSize', options.chunkSize, DEFAULT_CHUNK_SIZE),
      chunkBudgetMs: numberOption('chunkBudgetMs', options.chunkBudgetMs, 2, 0, false),
    };
    this.bootTimeMs = readBootTimeMs(this.root);
    this.cpuLimits = new CpuLimitReader(this.root, this.errors);
    this.cgroupMounts = cgroupMountsOption(options.cgroupMounts);
    this.fdCountByStat = fields === 'full' && this.kernelCountsFdsInStat();
  }

  async sample(targets: readonly SampleTarget[], signal?: AbortSignal): Promise<SampleOutcome[]> {
    this.sweeps++;
    this.smapsSpentMs = 0;
    this.cpuLimits.forgetLimits();
    const keep = !this.closed;
    // The tree work (one pass over every process on the machine) is paid only when a target wants it.
    const trees = targets.some((target) => target.descendants === true || target.group !== undefined);
    try {
      // Each sweep has its own tree reads: sweeps may overlap (a track() during a tick) now that the walk yields.
      const reads = trees ? await this.treeReadsFor(targets) : undefined;
      return await sweepInChunks(targets, (target) => this.readTarget(target, keep, reads), this.chunks, signal);
    } finally {
      await this.forgetAbsent();
    }
  }

  /**
   * The walk of /proc that a sample of `targets` with trees or groups needs,
   * read now: the sample that follows shares it (within `treeIndexMaxAgeMs`
   * of its end). On a loaded host of 10,000 processes a walk, in slices, can
   * take longer than a first sample's budget; a sample that had to wait for it
   * would then time out whole, and again when tried again.
   */
  async prepare(targets: readonly SampleTarget[]): Promise<void> {
    if (!targets.some((target) => target.descendants === true || target.group !== undefined)) return;
    let needs: FactNeeds | undefined;
    for (const target of targets) if (target.group !== undefined) needs = this.widenNeeds(target.group.grouping.needs);
    // A failure is the sample's to count and report, when it walks again.
    await this.walkHost(needs).catch(() => undefined);
  }

  /** A sweep's tree reads, with the walk of /proc its trees and groups share (or why there is none). */
  private async treeReadsFor(targets: readonly SampleTarget[]): Promise<TreeReads> {
    let needs: FactNeeds | undefined;
    for (const target of targets) if (target.group !== undefined) needs = this.widenNeeds(target.group.grouping.needs);
    const reads: TreeReads = { walk: undefined, walkError: undefined, members: new Map(), trees: new Map() };
    try {
      reads.walk = await this.walkHost(needs);
    } catch (error) {
      // Trees are then their roots alone; groups fail with the reason.
      this.errors.add(needs === undefined ? 'tree' : 'groups', error);
      reads.walkError = asError(error);
    }
    return reads;
  }

  release(pid: number): void {
    const followed = this.followed.get(pid);
    if (!followed) return;
    const members = followed.treeMembers;
    this.heldFds -= followed.releaseFds();
    this.followed.delete(pid);
    for (const member of members) this.release(member);
  }

  errorCounts(): ReadonlyMap<string, number> {
    return this.errors.snapshot();
  }

  close(): void {
    this.closed = true;
    for (const followed of this.followed.values()) this.heldFds -= followed.releaseFds();
    this.followed.clear();
  }

  /** Fds currently held open (for tests and self-monitoring). */
  get openFdCount(): number {
    return this.heldFds;
  }

  openFds(): number {
    return this.heldFds;
  }

  private readTarget(target: SampleTarget, keep: boolean, reads: TreeReads | undefined): SampleOutcome {
    if (target.cgroup !== undefined) return this.cgroupReader().read(target.cgroup);
    if (target.group !== undefined && reads !== undefined) return this.readGroup(target.group, keep, reads);
    const outcome = this.readOne(target, keep, false);
    if (!outcome.ok || target.descendants !== true || reads === undefined) return outcome;
    const read = reads.trees.get(target.pid);
    if (read?.startTime === outcome.sample.startTime) return { ok: true, sample: read };
    const sample = this.readTree(outcome.sample, keep, reads);
    reads.trees.set(target.pid, sample);
    return { ok: true, sample };
  }

  private cgroupReader(): CgroupReader {
    this.cgroups ??= new CgroupReader(this.cgroupMounts ?? findCgroupMounts(this.root), {
      root: this.root,
      bootTimeMs: this.bootTimeMs,
      clockTicksPerSecond: this.clockTicksPerSecond,
      pageSizeBytes: this.pageSizeBytes,
      errors: this.errors,
      cpusOf: (pid) => this.cpuLimits.read(pid),
      readProcess: (pid) => {
        const outcome = this.readOne({ pid }, false, true);
        return outcome.ok ? outcome.sample : null;
      },
    });
    return this.cgroups;
  }

  /**
   * A walk over /proc that reads at least `needs` (undefined: parents only).
   * One that ended less than `treeIndexMaxAgeMs` ago, or under way, is shared: a
   * supervisor that tracks 2,000 services at start would otherwise walk /proc
   * 2,000 times, and a fast tick would walk it on every sweep. A child is then
   * found at most that much later. A walk under way serves however long it
   * has run (on a loaded host of 10,000 processes, a sliced walk can take
   * longer than `treeIndexMaxAgeMs`): one started now would end later still,
   * and walks would pile up. Throws what listing /proc threw.
   */
  private walkHost(needs: FactNeeds | undefined): Promise<HostWalk> {
    const now = performance.now();
    const reads = (walk: { needs: FactNeeds | undefined }): boolean =>
      needs === undefined || (walk.needs !== undefined && covers(walk.needs, needs));
    if (this.lastWalk !== undefined && now - this.lastWalk.endedAt < this.treeIndexMaxAgeMs && reads(this.lastWalk)) {
      return Promise.resolve(this.lastWalk);
    }
    if (this.pendingWalk !== undefined && reads(this.pendingWalk)) return this.pendingWalk.walk;
    const walk = this.readWalk(needs, now).finally(() => {
      if (this.pendingWalk?.walk === walk) this.pendingWalk = undefined;
    });
    this.pendingWalk = { needs, walk };
    return walk;
  }

  /** One pass over /proc: the parent index (which tree targets then share) and, with `needs`, every process's facts. */
  private async readWalk(needs: FactNeeds | undefined, startedAt: number): Promise<HostWalk> {
    let facts: ProcessFacts[] | undefined;
    let index: ParentIndex;
    // In stretches, the first pass too: on a host of 10,000 processes one pass is 150 ms of reads or
    // more. A first track() whose budget runs out meanwhile is tried again, and is then served by this pass.
    const pacing = new Stretch(this.chunks);
    if (needs === undefined) {
      index = await scanParents(this.root, pacing);
    } else {
      const reader = (this.factsReader ??= new ProcessFactsReader(this.root));
      const read: ProcessFacts[] = [];
      index = await scanParents(this.root, pacing, (pid, ppid, startTicks, comm) => {
        read.push(reader.facts(pid, ppid, startTicks, comm, needs));
      });
      reader.prune(index.startTicks);
      facts = read;
    }
    const walk: HostWalk = { index, facts, needs, startedAt, endedAt: performance.now(), assignments: new Map() };
    if (this.lastWalk === undefined || this.lastWalk.startedAt <= startedAt) this.lastWalk = walk;
    return walk;
  }

  /** What every grouping seen so far needs, `needs` included: a walk reads it for all of them. */
  private widenNeeds(needs: FactNeeds): FactNeeds {
    if (!covers(this.factNeeds, needs)) {
      this.factNeeds = {
        exe: this.factNeeds.exe || needs.exe,
        argv: this.factNeeds.argv || needs.argv,
        user: this.factNeeds.user || needs.user,
        cgroup: this.factNeeds.cgroup || needs.cgroup,
      };
    }
    return this.factNeeds;
  }

  /**
   * How `grouping` splits the host's processes now: from a walk younger than
   * `treeIndexMaxAgeMs` when there is one (discovery and every group target of
   * a sweep share it), else from a new one. Rejects with what listing /proc threw.
   */
  async assignGroups(grouping: ProcessGrouping): Promise<GroupAssignment> {
    try {
      return assignmentOf(await this.walkHost(this.widenNeeds(grouping.needs)), grouping);
    } catch (error) {
      this.errors.add('groups', error);
      throw error;
    }
  }

  /**
   * A group as one sample: its members (each read once per sweep, however
   * many groups or trees hold it) summed as a tree is, its counters kept
   * across sweeps so that a member leaving never makes them go back. A group
   * with no process is a sample of its own: nothing running, the counters at
   * their level.
   */
  private readGroup(target: GroupTarget, keep: boolean, reads: TreeReads): SampleOutcome {
    const walk = reads.walk;
    if (walk === undefined) return { ok: false, error: reads.walkError ?? new Error('no walk of /proc') };
    const assignment = assignmentOf(walk, target.grouping);
    const members: TreeMember[] = [];
    for (const pid of assignment.groups.get(target.group)?.pids ?? []) {
      const ticks = walk.index.startTicks.get(pid);
      if (ticks === undefined) continue;
      const read = this.readMember({ pid, startTime: startTimeMs(this.bootTimeMs, ticks, this.clockTicksPerSecond) }, keep, false, reads);
      if (!(read instanceof Error)) members.push(read);
    }
    const counters = this.countersOf(target);
    return { ok: true, sample: members.length === 0 ? emptyTreeSample(counters, Date.now()) : treeSample(members, counters) };
  }

  private countersOf(target: GroupTarget): TreeCounters {
    let byName = this.groupCounters.get(target.grouping);
    if (byName === undefined) {
      byName = new Map();
      this.groupCounters.set(target.grouping, byName);
    }
    let entry = byName.get(target.group);
    if (entry === undefined) {
      entry = { counters: new TreeCounters(), lastSweep: this.sweeps };
      byName.set(target.group, entry);
    }
    entry.lastSweep = this.sweeps;
    return entry.counters;
  }

  /**
   * The tree under a root just read (this.stat still holds the root's stat).
   * Descendants are read parent first. One that is gone by the time it is
   * read may have been reaped since its parent was read, its times now in
   * the parent's children times and in neither reading: the parent is read
   * again, so the sum neither loses nor double-counts it.
   */
  private readTree(root: ProcessSample, keep: boolean, reads: TreeReads): ProcessSample {
    const rootTicks = this.stat.startTicks;
    const members: TreeMember[] = [this.member(root)];
    const found = reads.walk ? descendantsOf(reads.walk.index, root.pid, rootTicks) : [];
    const slots: number[] = [];
    const memberPids: number[] = [];
    const ticks = this.clockTicksPerSecond;
    const targetOf = (pid: number, startTicks: number): SampleTarget => ({
      pid,
      startTime: startTimeMs(this.bootTimeMs, startTicks, ticks),
    });
    for (const descendant of found) {
      const read = this.readMember(targetOf(descendant.pid, descendant.startTicks), keep, false, reads);
      if (!(read instanceof Error)) {
        slots.push(members.length);
        members.push(read);
        memberPids.push(descendant.pid);
        continue;
      }
      slots.push(-1);
      if (!(read instanceof ProcessNotFoundError)) continue;
      const parentSlot = descendant.parent < 0 ? 0 : (slots[descendant.parent] ?? -1);
      if (parentSlot < 0) continue;
      const parent = descendant.parent < 0 ? { pid: root.pid, startTicks: rootTicks } : (found[descendant.parent] as typeof descendant);
      const again = this.readMember(targetOf(parent.pid, parent.startTicks), keep, true, reads);
      if (!(again instanceof Error)) members[parentSlot] = again;
    }
    const followed = keep ? this.followed.get(root.pid) : undefined;
    let counters = followed?.tree;
    if (counters === undefined) {
      counters = new TreeCounters();
      if (followed) followed.tree = counters;
    }
    if (followed) followed.treeMembers = memberPids;
    return treeSample(members, counters);
  }

  /**
   * A descendant as a tree member, or why it could not be read. Read once per
   * sweep unless `fresh` (a parent read again after a child was found reaped:
   * every later tree then sees the same, newer reading).
   */
  private readMember(target: SampleTarget, keep: boolean, fresh: boolean, reads: TreeReads): TreeMember | Error {
    const cached = fresh ? undefined : reads.members.get(target.pid);
    if (cached !== undefined && cached.startTime === target.startTime) return cached.read;
    const outcome = this.readOne(target, keep, true);
    const read = outcome.ok ? this.member(outcome.sample) : outcome.error;
    reads.members.set(target.pid, { startTime: target.startTime ?? 0, read });
    return read;
  }

  /** A tree member from a sample just read (this.stat holds its stat). */
  private member(sample: ProcessSample): TreeMember {
    return {
      sample,
      childrenMinorFaults: this.stat.childrenMinorFaults,
      childrenMajorFaults: this.stat.childrenMajorFaults,
      zombie: sample.processCount === 0,
    };
  }

  private readOne(target: SampleTarget, keep: boolean, asMember: boolean): SampleOutcome {
    const invalid = checkPid(target.pid);
    if (invalid) return { ok: false, error: invalid };
    let followed = this.followed.get(target.pid);
    if (followed === undefined) {
      followed = new FollowedProcess(target.pid, this.root);
      if (keep) this.followed.set(target.pid, followed);
    }
    if (keep) followed.lastSweep = this.sweeps;
    try {
      return this.readFollowed(followed, target, keep, asMember);
    } catch (error) {
      if (isGone(error)) return this.notFound(target.pid);
      this.errors.add('stat', error);
      return { ok: false, error: asError(error) };
    }
  }

  /**
   * `asMember`: a descendant of a tree target. A zombie is then read (CPU times,
   * faults, I/O) rather than reported gone, its sample with processCount 0; the
   * CPUs available are the root's, so they are not read.
   */
  private readFollowed(followed: FollowedProcess, target: SampleTarget, keep: boolean, asMember: boolean): SampleOutcome {
    const { pid } = target;
    const pinned = target.startTime !== undefined && target.startTime !== 0;
    if (keep && followed.fds === null) this.tryHold(followed);
    const buffer = this.smallBuffer;
    let length: number;
    try {
      length = followed.read(STAT, buffer);
    } catch (error) {
      // The instance behind the held fds is gone; whatever runs at that pid now is another.
      if (followed.fds === null || !isGone(error)) throw error;
      this.heldFds -= followed.releaseFds();
      followed.forgetInstance(0);
      if (pinned) return this.notFound(pid, 'has exited');
      if (keep) this.tryHold(followed);
      length = followed.read(STAT, buffer);
    }
    const timestamp = Date.now();
    const stat = this.stat;
    const statError = parseStatInto(buffer, length, stat);
    if (statError) {
      this.errors.add('stat', statError);
      return { ok: false, error: statError };
    }
    const zombie = stat.state === 'Z' || stat.state === 'X';
    if (zombie && !asMember) return this.notFound(pid, 'has exited (zombie)');
    const ticks = this.clockTicksPerSecond;
    const startTime = startTimeMs(this.bootTimeMs, stat.startTicks, ticks);
    if (followed.startTimeMs !== startTime) followed.forgetInstance(startTime);
    if (pinned && target.startTime !== startTime) {
      return this.notFound(pid, `pid now belongs to a process started at ${new Date(startTime).toISOString()}`);
    }
    if (zombie) return { ok: true, sample: this.zombieSample(followed, timestamp, startTime) };

    const statm = this.statm;
    const statmError = parseStatmInto(buffer, followed.read(STATM, buffer), statm);
    if (statmError) {
      this.errors.add('statm', statmError);
      return { ok: false, error: statmError };
    }
    const page = this.pageSizeBytes;
    const full = this.fields === 'full';
    if (asMember && followed.cpusAvailable === undefined) followed.cpusAvailable = null;
    const status = full ? this.readStatus(followed, followed.cpusAvailable === undefined) : null;
    const io = full ? this.readIo(followed) : null;
    // A read not kept (a cgroup's member, summed without PSS) would throw its reading away.
    const smaps = full && keep && this.smapsIntervalMs > 0 ? this.readSmaps(followed) : null;
    if (followed.cpusAvailable === undefined) {
      followed.cpusAvailable = this.cpuLimits.read(pid, status ? status.cpusAllowedList : undefined);
    }
    const sample: ProcessSample = {
      pid,
      timestamp,
      startTime,
      cpu: this.cpuSeconds(),
      cpusAvailable: followed.cpusAvailable,
      memory: {
        rss: statm.residentPages * page,
        vms: statm.sizePages * page,
        shared: statm.sharedPages * page,
        swap: status ? status.swapBytes : null,
        data: statm.dataPages * page,
        stack: status ? status.stackBytes : null,
        pss: smaps ? smaps.pss : null,
        uss: smaps ? smaps.uss : null,
      },
      numThreads: stat.numThreads,
      numFDs: full ? this.countFds(followed) : null,
      readBytes: io ? io.readBytes : null,
      writeBytes: io ? io.writeBytes : null,
      voluntaryContextSwitches: status ? status.voluntaryContextSwitches : null,
      involuntaryContextSwitches: status ? status.involuntaryContextSwitches : null,
      majorFaults: stat.majorFaults,
      minorFaults: stat.minorFaults,
    };
    return { ok: true, sample };
  }

  /**
   * PSS and USS from smaps_rollup, read again only once `smapsIntervalMs` has
   * passed, and at most SMAPS_BUDGET_MS of it per sweep: the kernel walks
   * every mapping of the process to answer, which costs far more than the
   * other files. A denied read (another user's
   * process) is counted once and not tried again for this instance.
   */
  private readSmaps(followed: FollowedProcess): { pss: number; uss: number } | null {
    const known = followed.smaps;
    if (known === null) return null;
    const now = performance.now();
    if (known !== undefined && now - known.readAt < this.smapsIntervalMs) return known;
    if (this.smapsSpentMs >= SMAPS_BUDGET_MS) return known ?? null;
    let parsed: ReturnType<typeof parseSmapsRollup>;
    try {
      parsed = parseSmapsRollup(readSmallFile(`${followed.dir}smaps_rollup`));
      this.smapsSpentMs += performance.now() - now;
    } catch (error) {
      if (isGone(error)) return known ?? null;
      this.errors.add('smaps', error);
      followed.smaps = null;
      return null;
    }
    if (parsed instanceof ProcParseError) {
      this.errors.add('smaps', parsed);
      followed.smaps = null;
      return null;
    }
    followed.smaps = { pss: parsed.pssBytes, uss: parsed.ussBytes, readAt: now };
    return followed.smaps;
  }

  /** The CPU times of the stat just read, in seconds. */
  private cpuSeconds(): ProcessSample['cpu'] {
    const { stat, clockTicksPerSecond: ticks } = this;
    return {
      user: stat.userTicks / ticks,
      system: stat.systemTicks / ticks,
      childrenUser: stat.childrenUserTicks / ticks,
      childrenSystem: stat.childrenSystemTicks / ticks,
    };
  }

  /** An exited, unreaped tree member: what it used until it exited, nothing it holds. */
  private zombieSample(followed: FollowedProcess, timestamp: number, startTime: number): ProcessSample {
    const stat = this.stat;
    const io = this.fields === 'full' ? this.readIo(followed) : null;
    return {
      pid: followed.pid,
      timestamp,
      startTime,
      cpu: this.cpuSeconds(),
      cpusAvailable: null,
      memory: { rss: 0, vms: 0, shared: 0, swap: 0, data: 0, stack: 0, pss: 0, uss: 0 },
      numThreads: 0,
      numFDs: 0,
      readBytes: io ? io.readBytes : null,
      writeBytes: io ? io.writeBytes : null,
      voluntaryContextSwitches: null,
      involuntaryContextSwitches: null,
      majorFaults: stat.majorFaults,
      minorFaults: stat.minorFaults,
      processCount: 0,
    };
  }

  private notFound(pid: number, detail?: string): SampleOutcome {
    return { ok: false, error: new ProcessNotFoundError(pid, detail) };
  }

  /** Holds the fds of a followed process when the cap allows; otherwise it is read by open/read/close. */
  private tryHold(followed: FollowedProcess): void {
    if (this.heldFds + this.files.length > this.fdCapacity) return;
    try {
      this.heldFds += followed.hold(this.files);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EMFILE' && code !== 'ENFILE') throw error;
      // The process ran out of fds before our cap did: hold no more than we have.
      this.fdCapacity = this.heldFds;
      this.errors.add('hold', error);
    }
  }

  private readStatus(followed: FollowedProcess, withCpuList: boolean): ProcStatus | null {
    try {
      let length = followed.read(STATUS, this.statusBuffer);
      while (length === this.statusBuffer.length) {
        // Thousands of CPUs or supplementary groups: grow once for this and later reads.
        this.statusBuffer = Buffer.allocUnsafe(this.statusBuffer.length * 2);
        length = followed.read(STATUS, this.statusBuffer);
      }
      const error = parseStatusInto(this.statusBuffer, length, this.status, withCpuList);
      if (!error) return this.status;
      this.errors.add('status', error);
    } catch (error) {
      if (isGone(error)) throw error;
      this.errors.add('status', error);
    }
    return null;
  }

  private readIo(followed: FollowedProcess): ProcIo | null {
    if (followed.ioDenied !== null) {
      this.errors.addCode('io', followed.ioDenied);
      return null;
    }
    try {
      const error = parseIoInto(this.smallBuffer, followed.read(IO, this.smallBuffer), this.io);
      if (!error) return this.io;
      this.errors.add('io', error);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A missing io file with stat present means no task I/O accounting, not an exit.
      if (code === 'ESRCH') throw error;
      followed.ioDenied = code ?? 'UNKNOWN';
      this.errors.add('io', error);
    }
    return null;
  }

  /** Open fds of the process: st_size of /proc/PID/fd where the kernel reports it (6.2+), else a directory listing. */
  private countFds(followed: FollowedProcess): number | null {
    const dir = followed.fdDir;
    try {
      return this.fdCountByStat ? statSync(dir).size : readdirSync(dir).length;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') throw error;
      this.errors.add('fd', error);
      return null;
    }
  }

  private kernelCountsFdsInStat(): boolean {
    try {
      return statfsSync(this.root.proc).type === PROC_SUPER_MAGIC && statSync(this.root.pid('self', 'fd')).size > 0;
    } catch {
      return false;
    }
  }

  /** Closes the fds of pids, and drops the counters of groups, that several sweeps in a row did not ask for. */
  private async forgetAbsent(): Promise<void> {
    // In stretches: after sweeps that timed out, thousands of processes (4 fds each) can be due at once.
    const stretch = new Stretch(this.chunks);
    for (const followed of this.followed.values()) {
      if (this.sweeps - followed.lastSweep < this.forgetAfterSweeps) continue;
      if (stretch.over) await stretch.pause();
      this.heldFds -= followed.releaseFds();
      this.followed.delete(followed.pid);
      stretch.step();
    }
    for (const [grouping, byName] of this.groupCounters) {
      for (const [name, entry] of byName) if (this.sweeps - entry.lastSweep >= this.forgetAfterSweeps) byName.delete(name);
      if (byName.size === 0) this.groupCounters.delete(grouping);
    }
  }
}

/** A pass over /proc: the parent index, with `needs`, the facts of every process, and the assignments made from them so far. */
interface HostWalk {
  readonly index: ParentIndex;
  readonly facts: readonly ProcessFacts[] | undefined;
  readonly needs: FactNeeds | undefined;
  /** When the pass began, performance.now() ms. */
  readonly startedAt: number;
  /**
   * When it ended: its age counts from then. On a loaded host of 10,000
   * processes a sliced pass can outlast `treeIndexMaxAgeMs`; counted from its
   * start it would be stale when done, and a first sample that timed out
   * waiting for it would wait for a new one when tried again, and so on.
   */
  readonly endedAt: number;
  readonly assignments: Map<ProcessGrouping, GroupAssignment>;
}

/**
 * What one sweep has read of trees, so that trees sharing processes (one tree
 * inside another, many services on one root) cost one read of each process
 * per sweep: members by pid, and whole trees by root pid.
 */
interface TreeReads {
  /** The walk of /proc the sweep's trees and groups share; undefined when /proc could not be listed. */
  walk: HostWalk | undefined;
  walkError: Error | undefined;
  readonly members: Map<number, MemberRead>;
  readonly trees: Map<number, ProcessSample>;
}

/** True when a walk reading `read` has every fact `wanted` asks for. */
function covers(read: FactNeeds, wanted: FactNeeds): boolean {
  return (!wanted.exe || read.exe) && (!wanted.argv || read.argv) && (!wanted.user || read.user) && (!wanted.cgroup || read.cgroup);
}

/** How `grouping` splits the processes of `walk`, made once per walk. */
function assignmentOf(walk: HostWalk, grouping: ProcessGrouping): GroupAssignment {
  let assignment = walk.assignments.get(grouping);
  if (assignment === undefined) {
    assignment = grouping.assign(walk.facts ?? []);
    walk.assignments.set(grouping, assignment);
  }
  return assignment;
}
