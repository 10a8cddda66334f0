import type { ProcessFacts } from '../../../src/collectors/groups/index.js';

/** Facts for one process, with plausible defaults. */
export function proc(pid: number, ppid: number, more: Partial<ProcessFacts> = {}): ProcessFacts {
  return {
    pid,
    ppid,
    startTicks: pid,
    comm: 'sleep',
    exe: '/usr/bin/sleep',
    argv: ['sleep', '60'],
    uid: 0,
    user: 'root',
    cgroup: '/',
    ...more,
  };
}
