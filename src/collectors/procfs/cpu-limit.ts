import type { ErrorCounts } from '../../core/error-counts.js';
import { parseCfsQuota, parseCgroupFile, parseCpuListCount, parseCpuMax, parseMountInfo } from './parse-cgroup.js';
import type { CgroupMembership, MountInfo } from './parse-cgroup.js';
import { ProcParseError } from './parse-error.js';
import { parseStatus } from './parse-status.js';
import { readSmallFile } from './read-text.js';
import type { HostRoot } from './host-root.js';

/** Where a cgroup hierarchy is mounted and which directory of it appears there. */
interface Hierarchy {
  mountPoint: string;
  root: string;
}

/**
 * Reads how many CPUs a process may use: the smaller of its affinity
 * (Cpus_allowed_list) and the CPU quota of its cgroup and every ancestor
 * (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us). Hybrid hosts
 * have both; the smallest limit wins. Callers cache the result per process
 * instance, since walking the cgroup tree costs several file reads.
 */
export class CpuLimitReader {
  private hierarchies: { v2: Hierarchy | undefined; v1cpu: Hierarchy | undefined } | undefined;
  /** Limits by cgroup directory: thousands of processes usually share a few cgroups. */
  private readonly limitsByDir = new Map<string, number | null>();

  constructor(
    private readonly root: HostRoot,
    private readonly errors: ErrorCounts,
  ) {}

  /**
   * Forgets the cgroup limits read so far. The collector calls it once per sweep,
   * so a changed quota is seen by processes first read after the change.
   */
  forgetLimits(): void {
    this.limitsByDir.clear();
  }

  /**
   * CPUs available to `pid` (possibly fractional); null when neither affinity nor
   * a quota could be read. `cpusAllowedList` saves a status read when the caller has it.
   */
  read(pid: number | 'self', cpusAllowedList?: string | null): number | null {
    const affinity = this.affinity(pid, cpusAllowedList);
    const quota = this.quota(pid);
    if (affinity === null) return quota;
    return quota === null ? affinity : Math.min(affinity, quota);
  }

  private affinity(pid: number | 'self', cpusAllowedList: string | null | undefined): number | null {
    let list = cpusAllowedList;
    if (list === undefined) {
      const status = this.readText(this.root.pid(pid, 'status'), 'status', true);
      const parsed = status === undefined ? undefined : parseStatus(status);
      if (parsed instanceof ProcParseError) this.errors.add('status', parsed);
      list = parsed instanceof ProcParseError ? null : (parsed?.cpusAllowedList ?? null);
    }
    if (list === null) return null;
    const count = parseCpuListCount(list);
    if (count instanceof ProcParseError) {
      this.errors.add('status', count);
      return null;
    }
    return count;
  }

  private quota(pid: number | 'self'): number | null {
    const text = this.readText(this.root.pid(pid, 'cgroup'), 'cgroup', true);
    if (text === undefined) return null;
    const memberships = parseCgroupFile(text);
    if (memberships instanceof ProcParseError) {
      this.errors.add('cgroup', memberships);
      return null;
    }
    const { v2, v1cpu } = this.findHierarchies();
    let limit: number | null = null;
    for (const membership of memberships) {
      let found: number | null = null;
      if (membership.hierarchyId === 0 && membership.controllers.length === 0 && v2) {
        found = this.walk(v2, membership, (dir) => this.v2Limit(dir));
      } else if (membership.controllers.includes('cpu') && v1cpu) {
        found = this.walk(v1cpu, membership, (dir) => this.v1Limit(dir));
      }
      if (found !== null) limit = limit === null ? found : Math.min(limit, found);
    }
    return limit;
  }

  /** The smallest limit from the process's cgroup up to the top of the mounted hierarchy. */
  private walk(hierarchy: Hierarchy, membership: CgroupMembership, limitAt: (dir: string) => number | null): number | null {
    // Inside a cgroup namespace the path is already relative to the mounted root.
    const { root, mountPoint } = hierarchy;
    const relative =
      root !== '/' && (membership.path === root || membership.path.startsWith(`${root}/`))
        ? membership.path.slice(root.length)
        : membership.path;
    // A cgroup outside our namespace shows as /../..: its files are not under our mount.
    if (relative.includes('/..')) return null;
    const top = this.root.host(mountPoint);
    let limit: number | null = null;
    for (let dir = `${top}${relative === '/' ? '' : relative}`; ; dir = dir.slice(0, dir.lastIndexOf('/'))) {
      let found = this.limitsByDir.get(dir);
      if (found === undefined) {
        found = limitAt(dir);
        this.limitsByDir.set(dir, found);
      }
      if (found !== null) limit = limit === null ? found : Math.min(limit, found);
      if (dir.length <= top.length) break;
    }
    return limit;
  }

  private v2Limit(dir: string): number | null {
    const text = this.readText(`${dir}/cpu.max`, 'cgroup', true);
    if (text === undefined) return null;
    return this.counted(parseCpuMax(text));
  }

  private v1Limit(dir: string): number | null {
    const quota = this.readText(`${dir}/cpu.cfs_quota_us`, 'cgroup', true);
    const period = quota === undefined ? undefined : this.readText(`${dir}/cpu.cfs_period_us`, 'cgroup', true);
    if (quota === undefined || period === undefined) return null;
    return this.counted(parseCfsQuota(quota, period));
  }

  private counted(value: number | null | ProcParseError): number | null {
    if (!(value instanceof ProcParseError)) return value;
    this.errors.add('cgroup', value);
    return null;
  }

  private findHierarchies(): { v2: Hierarchy | undefined; v1cpu: Hierarchy | undefined } {
    if (this.hierarchies) return this.hierarchies;
    const text = this.readText(this.root.pid('self', 'mountinfo'), 'mountinfo');
    const mounts: MountInfo[] | ProcParseError = text === undefined ? [] : parseMountInfo(text);
    if (mounts instanceof ProcParseError) this.errors.add('mountinfo', mounts);
    const list = mounts instanceof ProcParseError ? [] : mounts;
    const v2 = list.find((mount) => mount.fsType === 'cgroup2');
    const v1cpu = list.find((mount) => mount.fsType === 'cgroup' && mount.superOptions.includes('cpu'));
    this.hierarchies = { v2, v1cpu };
    return this.hierarchies;
  }

  /**
   * File text, or undefined after counting the failure. A missing file is not
   * counted where that is normal: no quota file at a level, a process that just exited.
   */
  private readText(path: string, source: string, mayBeMissing = false): string | undefined {
    try {
      return readSmallFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (!(mayBeMissing && code === 'ENOENT')) this.errors.add(source, error);
      return undefined;
    }
  }
}
