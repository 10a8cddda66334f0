import { once } from 'node:events';
import { afterEach, expect } from 'vitest';
import { makeCgroup, missingForCgroups, type TestCgroup } from '../support/cgroup.js';
import { closeCollectors, procfsCollector, sampleOf } from '../support/collectors.js';
import { spawnGroup, waitFor } from '../support/process.js';
import { describeWhere, itWhere } from '../support/requires.js';
import { spawnSync, type ChildProcess } from 'node:child_process';

const MIB = 1024 * 1024;
const SHARED_MIB = 200;
const WORKERS = 8;

/**
 * A pre-fork server in miniature: the parent touches every page of 200 MiB,
 * then forks 8 workers that share them copy-on-write and sleep. Each of the 9
 * processes has the 200 MiB resident, so RSS summed over the tree is about
 * 9 x 200 MiB, while PSS divides every shared page among its 9 mappers and
 * sums to about the 200 MiB that really are in memory: what the cgroup they
 * all live in is charged.
 */
const PRE_FORK = `
import os, sys, time
sys.stdin.readline()  # moved into its cgroup first, so what it allocates is charged there
block = bytearray(${SHARED_MIB} * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
for _ in range(${WORKERS}):
    if os.fork() == 0:
        time.sleep(1000)
        os._exit(0)
print('ready', flush=True)
time.sleep(1000)
`;

const missingPython = spawnSync('python3', ['--version']).status === 0 ? undefined : 'needs python3 (for os.fork)';
let cgroup: TestCgroup | undefined;
let server: ChildProcess | undefined;

afterEach(async () => {
  closeCollectors();
  // The processes first (the whole group, workers included), then their cgroup can go.
  if (server?.pid !== undefined && server.exitCode === null && server.signalCode === null) {
    const exited = once(server, 'exit');
    process.kill(-server.pid, 'SIGKILL');
    await exited;
  }
  server = undefined;
  await cgroup?.remove();
  cgroup = undefined;
});

describeWhere(missingForCgroups() ?? missingPython, 'shared memory counted once (PSS and USS)', () => {
  itWhere(
    undefined,
    `a pre-fork tree of ${WORKERS} workers sharing ${SHARED_MIB} MiB: PSS near its cgroup's memory, RSS about ${WORKERS + 1}x`,
    async () => {
      cgroup = makeCgroup();
      server = spawnGroup('python3', ['-c', PRE_FORK], { stdio: ['pipe', 'pipe', 'inherit'] });
      const pid = server.pid as number;
      cgroup.add(pid);
      server.stdin?.write('go\n');
      await once(server.stdout!, 'data');

      const collector = procfsCollector({ smapsIntervalMs: 1 });
      const path = cgroup.path;
      const [tree, group] = await waitFor(
        async () => {
          const outcomes = await collector.sample([
            { pid, descendants: true },
            { pid: 0, cgroup: path },
          ]);
          const read = outcomes.map(sampleOf);
          // Readings of smaps_rollup are spread over sweeps (a budget per sweep): wait until every member has one.
          return read[0]?.processCount === WORKERS + 1 && (read[0].memory.pss ?? 0) > SHARED_MIB * MIB ? read : undefined;
        },
        { what: 'the parent and its workers, each with a PSS reading', timeoutMs: 30_000 },
      );

      const rss = tree!.memory.rss;
      const pss = tree!.memory.pss!;
      const uss = tree!.memory.uss!;
      const charged = group!.cgroup!.memoryUsageBytes!;
      // Every process has the shared block resident.
      expect(rss).toBeGreaterThan((WORKERS + 1) * SHARED_MIB * MIB * 0.95);
      expect(rss / charged).toBeGreaterThan(WORKERS * 0.9);
      // PSS sums it once: within 10 % of what the cgroup is charged.
      expect(Math.abs(pss - charged) / charged).toBeLessThan(0.1);
      expect(pss).toBeGreaterThan(SHARED_MIB * MIB);
      // USS: what no other process maps; the shared block is in nobody's.
      expect(uss).toBeLessThan(pss - SHARED_MIB * MIB * 0.8);
      expect(uss).toBeGreaterThan(0);
    },
    60_000,
  );
});
