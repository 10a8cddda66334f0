import { availableParallelism } from 'node:os';
import { ErrorCounts } from '../core/error-counts.js';
import { CpuLimitReader } from './procfs/cpu-limit.js';
import { HostRoot } from './procfs/host-root.js';

/**
 * CPUs this Node process may use, possibly fractional: on Linux the smaller of
 * its affinity and its cgroup CPU quota, elsewhere `os.availableParallelism()`.
 * A CPU percent of one core divided by this gives the share of what the
 * process could have used.
 */
export function availableCpus(): number {
  if (process.platform !== 'linux') return availableParallelism();
  return new CpuLimitReader(HostRoot.live, new ErrorCounts()).read('self') ?? availableParallelism();
}
