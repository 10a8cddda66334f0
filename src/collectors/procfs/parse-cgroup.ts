import { ProcParseError } from './parse-error.js';

/** One line of /proc/PID/cgroup. */
export interface CgroupMembership {
  hierarchyId: number;
  /** v1 controllers of that hierarchy (e.g. `cpu`, `cpuacct`); empty for the v2 hierarchy. */
  controllers: string[];
  /** Path inside the hierarchy, starting with '/'. */
  path: string;
}

/** One line of /proc/PID/mountinfo, the parts needed to find cgroup hierarchies. */
export interface MountInfo {
  /** The directory of the mounted filesystem that appears at `mountPoint`. */
  root: string;
  mountPoint: string;
  fsType: string;
  /** Per-superblock options; for cgroup v1 they name the controllers. */
  superOptions: string[];
}

/**
 * Counts the CPUs in a kernel list such as `0-3,8,10-11` (Cpus_allowed_list,
 * cpuset.cpus): 7 for that example.
 */
export function parseCpuListCount(text: string): number | ProcParseError {
  const list = text.trim();
  if (list.length === 0) return new ProcParseError('cpu list', 'empty');
  let count = 0;
  for (const part of list.split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!range) return new ProcParseError('cpu list', `${JSON.stringify(part)} is not a CPU or a range`);
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last < first) return new ProcParseError('cpu list', `range ${JSON.stringify(part)} runs backwards`);
    count += last - first + 1;
  }
  return count;
}

/** Parses /proc/PID/cgroup: `hierarchy-id:controllers:path` per line. */
export function parseCgroupFile(text: string): CgroupMembership[] | ProcParseError {
  if (text.trim().length === 0) return new ProcParseError('cgroup', 'empty');
  const memberships: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const match = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    if (!match?.[3]) return new ProcParseError('cgroup', `line ${JSON.stringify(line)} is not id:controllers:path`);
    const controllers = match[2] ? match[2].split(',').filter((name) => name.length > 0) : [];
    memberships.push({ hierarchyId: Number(match[1]), controllers, path: match[3] });
  }
  return memberships;
}

/**
 * cgroup v2 `cpu.max` (`$MAX $PERIOD`, `max` for no limit) as a number of CPUs;
 * null when unlimited.
 */
export function parseCpuMax(text: string): number | null | ProcParseError {
  const match = /^(max|\d+)(?:\s+(\d+))?\s*$/.exec(text);
  if (!match) return new ProcParseError('cpu.max', `${JSON.stringify(text.trim())} is not "max|quota period"`);
  if (match[1] === 'max') return null;
  const period = Number(match[2] ?? 100_000);
  if (period <= 0) return new ProcParseError('cpu.max', 'period is 0');
  return Number(match[1]) / period;
}

/**
 * cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` as a number of CPUs;
 * null when the quota is -1 (unlimited).
 */
export function parseCfsQuota(quotaText: string, periodText: string): number | null | ProcParseError {
  const quota = quotaText.trim();
  const period = periodText.trim();
  if (!/^-?\d+$/.test(quota)) return new ProcParseError('cpu.cfs_quota_us', `${JSON.stringify(quota)} is not a number`);
  if (!/^\d+$/.test(period) || Number(period) === 0) {
    return new ProcParseError('cpu.cfs_period_us', `${JSON.stringify(period)} is not a positive number`);
  }
  const quotaUs = Number(quota);
  return quotaUs < 0 ? null : quotaUs / Number(period);
}

/** Undoes the octal escapes (`\040` for a space) the kernel uses in mountinfo paths. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parses /proc/PID/mountinfo (see proc(5)). */
export function parseMountInfo(text: string): MountInfo[] | ProcParseError {
  if (text.trim().length === 0) return new ProcParseError('mountinfo', 'empty');
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    const [root, mountPoint] = [fields[3], fields[4]];
    const [fsType, , superOptions] = fields.slice(separator + 1);
    if (separator < 0 || !root || !mountPoint || !fsType || superOptions === undefined) {
      return new ProcParseError('mountinfo', `line ${JSON.stringify(line)} has too few fields`);
    }
    mounts.push({
      root: unescapeMountPath(root),
      mountPoint: unescapeMountPath(mountPoint),
      fsType,
      superOptions: superOptions.split(','),
    });
  }
  return mounts;
}
