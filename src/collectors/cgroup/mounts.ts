import type { HostRoot } from '../procfs/host-root.js';
import { parseMountInfo } from '../procfs/parse-cgroup.js';
import { ProcParseError } from '../procfs/parse-error.js';
import { readSmallFile } from '../procfs/read-text.js';

/**
 * Where each cgroup hierarchy a cgroup target is read from is mounted. A
 * target path is looked up under every one of them: on a pure v2 host only
 * `v2` is set; on a v1 host the controllers each have their own; on a hybrid
 * host both, and each figure comes from the first hierarchy that has it.
 */
export interface CgroupMounts {
  /** The unified (v2) hierarchy, e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified. */
  v2?: string;
  /** v1 cpuacct (CPU time), often shared with cpu. */
  cpuacct?: string;
  /** v1 cpu (throttling). */
  cpu?: string;
  /** v1 memory. */
  memory?: string;
  /** v1 pids. */
  pids?: string;
}

const V1_CONTROLLERS = ['cpuacct', 'cpu', 'memory', 'pids'] as const;

/** The hierarchies in the root's mountinfo of this process, each mount point under the root. */
export function findCgroupMounts(root: HostRoot): CgroupMounts {
  let text: string;
  try {
    text = readSmallFile(root.pid('self', 'mountinfo'));
  } catch {
    return {};
  }
  const mounts = parseMountInfo(text);
  if (mounts instanceof ProcParseError) return {};
  const found: CgroupMounts = {};
  for (const mount of mounts) {
    // Only a mount of the hierarchy's root: a bind mount of a sub-cgroup would shift every path.
    if (mount.root !== '/') continue;
    const at = root.host(mount.mountPoint);
    if (mount.fsType === 'cgroup2') found.v2 ??= at;
    else if (mount.fsType === 'cgroup') {
      for (const controller of V1_CONTROLLERS) {
        if (mount.superOptions.includes(controller)) found[controller] ??= at;
      }
    }
  }
  return found;
}
