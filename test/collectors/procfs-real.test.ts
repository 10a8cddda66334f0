import { mkdirSync, readdirSync, readlinkSync, mkdtempSync, rmdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { ProcessNotFoundError } from '../../src/core/errors.js';
import { ProcfsCollector, availableCpus, defaultCollector } from '../../src/collectors/index.js';
import { killAll, killAndWait, spawnChild, spawnIdle } from '../support/process.js';
import { closeCollectors, errorOf, procfsCollector, sampleOne } from '../support/collectors.js';
import { missingForCgroups } from '../support/cgroup.js';
import { describeWhere, itWhere, missingForPidSteering, NS_LAST_PID } from '../support/requires.js';
import { ask, startWorkload } from './workloads.js';

const linux = process.platform === 'linux';
const MIB = 1024 * 1024;

afterEach(async () => {
  closeCollectors();
  await killAll();
});

const collector = procfsCollector;

/** fds of this process that point at /proc/<pid>/... of the given pids. */
function heldProcFds(pids: readonly number[]): number {
  const prefixes = pids.map((pid) => `/proc/${pid}/`);
  let held = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (prefixes.some((prefix) => target.startsWith(prefix))) held++;
    } catch {
      // Closed while we looked: not ours.
    }
  }
  return held;
}

describeWhere(linux ? undefined : 'needs Linux', 'ProcfsCollector on real processes', () => {
  it('is what defaultCollector() picks on Linux', () => {
    const picked = defaultCollector();
    expect(picked).toBeInstanceOf(ProcfsCollector);
    if (picked instanceof ProcfsCollector) picked.close();
  });

  it('reads CPU time of a child burning half a core, as the child itself counts it', async () => {
    const child = await startWorkload('burn.mjs', ['50', '100']);
    const from = collector();
    // Let the child reach its rhythm before the window opens.
    await sleep(300);
    const own0 = await ask<{ usage: NodeJS.CpuUsage }>(child, 'usage');
    const s0 = await sampleOne(from, { pid: child.pid });
    await sleep(2000);
    const own1 = await ask<{ usage: NodeJS.CpuUsage }>(child, 'usage');
    const s1 = await sampleOne(from, { pid: child.pid, startTime: s0.startTime });

    const ours = s1.cpu.user + s1.cpu.system - (s0.cpu.user + s0.cpu.system);
    const truth = (own1.usage.user + own1.usage.system - (own0.usage.user + own0.usage.system)) / 1e6;
    const wallSeconds = (s1.timestamp - s0.timestamp) / 1000;
    // The kernel truncates user and system to whole ticks (10 ms) at each end.
    expect(Math.abs(ours - truth)).toBeLessThanOrEqual(0.04 + 0.02 * truth);
    const percent = (ours / wallSeconds) * 100;
    const truthPercent = (truth / wallSeconds) * 100;
    expect(Math.abs(percent - truthPercent)).toBeLessThanOrEqual(truthPercent * 0.1);
    // Nominal 50 %; within 10 points even when the machine is busy.
    expect(percent).toBeGreaterThan(40);
    expect(percent).toBeLessThan(60);
  });

  it('sees RSS grow by the memory a child allocates and touches', async () => {
    const child = await startWorkload('alloc.mjs', ['200']);
    const from = collector();
    const before = await sampleOne(from, { pid: child.pid });
    const { rss: ownRss } = await ask<{ rss: number }>(child, 'alloc');
    const after = await sampleOne(from, { pid: child.pid, startTime: before.startTime });

    const growth = after.memory.rss - before.memory.rss;
    expect(growth).toBeGreaterThan(200 * MIB * 0.9);
    expect(growth).toBeLessThan(200 * MIB * 1.1);
    // The child reads its own RSS from the same kernel counters.
    expect(Math.abs(after.memory.rss - ownRss)).toBeLessThan(4 * MIB);
    expect(after.memory.vms).toBeGreaterThan(after.memory.rss);
  });

  it('counts the bytes a child writes and fsyncs to storage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'procmetrics-write-'));
    try {
      const bytes = 8 * MIB;
      const child = await startWorkload('write.mjs', [join(dir, 'out.bin'), String(bytes)]);
      const from = collector();
      const before = await sampleOne(from, { pid: child.pid });
      const { written } = await ask<{ written: number }>(child, 'write');
      const after = await sampleOne(from, { pid: child.pid, startTime: before.startTime });
      expect(written).toBe(bytes);
      const delta = (after.writeBytes ?? Number.NaN) - (before.writeBytes ?? Number.NaN);
      const TMPFS_MAGIC = 0x01021994;
      if (statfsSync(dir).type === TMPFS_MAGIC) {
        // Memory-backed: nothing reaches a block device, so the kernel counts nothing.
        expect(delta).toBe(0);
      } else {
        // Block filesystems count whole pages sent to the device; the file's metadata adds a few.
        expect(delta).toBeGreaterThanOrEqual(bytes);
        expect(delta).toBeLessThan(bytes + MIB);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports threads, open fds, context switches and affinity of a real process', async () => {
    const pinned = spawnChild('taskset', ['-c', '0', 'sleep', '100000']);
    const pid = pinned.pid as number;
    const sample = await sampleOne(collector(), { pid: process.pid });
    expect(sample.numThreads).toBeGreaterThanOrEqual(1);
    expect(sample.numFDs).toBeGreaterThanOrEqual(3);
    expect(sample.voluntaryContextSwitches).toBeGreaterThan(0);
    expect(sample.memory.stack).toBeGreaterThan(0);
    // taskset exec()s sleep in the same pid: wait until the affinity is set.
    await sleep(100);
    const affinity = await sampleOne(collector(), { pid });
    expect(affinity.cpusAvailable).toBe(1);
  });

  it('tells how many CPUs this process may use, as it reads them for a child', async () => {
    const own = availableCpus();
    expect(own).toBeGreaterThan(0);
    expect(own).toBeLessThanOrEqual(availableParallelism());
    // A child inherits affinity and cgroup: the collector must read the same for it.
    const child = spawnIdle();
    expect((await sampleOne(collector(), { pid: child.pid })).cpusAvailable).toBe(own);
  });

  // cgroup v1 cpu controller, as on this project's CI machines; root may create a cgroup there.
  itWhere(missingForCgroups(), 'takes a CPU quota set on the cgroup of the process', async () => {
    const dir = `/sys/fs/cgroup/cpu/procmetrics-test-${process.pid}`;
    mkdirSync(dir);
    const child = spawnIdle();
    try {
      writeFileSync(`${dir}/cpu.cfs_period_us`, '100000');
      writeFileSync(`${dir}/cpu.cfs_quota_us`, '50000');
      writeFileSync(`${dir}/cgroup.procs`, String(child.pid));
      const sample = await sampleOne(collector(), { pid: child.pid });
      expect(sample.cpusAvailable).toBe(0.5);
    } finally {
      await killAndWait(child);
      rmdirSync(dir);
    }
  });

  it('dates a process started a moment ago to within a few clock ticks', async () => {
    const before = Date.now();
    const idle = spawnIdle();
    const after = Date.now();
    const sample = await sampleOne(collector(), { pid: idle.pid });
    // One-second boot-time resolution would put this up to 1000 ms early.
    expect(sample.startTime).toBeGreaterThanOrEqual(before - 50);
    expect(sample.startTime).toBeLessThanOrEqual(after + 50);
  });

  it('reports an exited process as ProcessNotFoundError and drops its fds', async () => {
    const child = spawnIdle();
    const from = collector();
    const first = await sampleOne(from, { pid: child.pid });
    expect(heldProcFds([child.pid])).toBe(4);
    await killAndWait(child);

    const [pinned] = await from.sample([{ pid: child.pid, startTime: first.startTime }]);
    expect(errorOf(pinned)).toBeInstanceOf(ProcessNotFoundError);
    expect(errorOf(pinned)).toMatchObject({ code: 'ESRCH', pid: child.pid });
    expect(heldProcFds([child.pid])).toBe(0);
    const [unpinned] = await from.sample([{ pid: child.pid }]);
    expect(errorOf(unpinned)).toBeInstanceOf(ProcessNotFoundError);
  });

  itWhere(missingForPidSteering(), 'is not fooled when the kernel hands the pid to a new process', async () => {
    const from = collector();
    const ATTEMPTS = 20;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const old = spawnIdle();
      const first = await sampleOne(from, { pid: old.pid });
      await killAndWait(old);
      // Root may choose the next pid; other processes forking meanwhile make this a retry.
      writeFileSync(NS_LAST_PID, String(old.pid - 1));
      const next = spawnIdle();
      if (next.pid !== old.pid) continue;

      const [pinned] = await from.sample([{ pid: old.pid, startTime: first.startTime }]);
      expect(errorOf(pinned)).toBeInstanceOf(ProcessNotFoundError);
      const fresh = await sampleOne(from, { pid: next.pid });
      expect(fresh.startTime).toBeGreaterThanOrEqual(first.startTime);
      const again = await sampleOne(from, { pid: next.pid, startTime: fresh.startTime });
      expect(again.startTime).toBe(fresh.startTime);
      return;
    }
    expect.fail(`another process took the freed pid in each of ${ATTEMPTS} attempts`);
  });

  it('closes fds on release, after several sweeps without a pid, and on close', async () => {
    const children = [spawnIdle(), spawnIdle(), spawnIdle()];
    const pids = children.map((child) => child.pid);
    const from = collector({ fields: 'basic', forgetAfterSweeps: 2 });
    await from.sample(pids.map((pid) => ({ pid })));
    expect(heldProcFds(pids)).toBe(6);
    expect(from.openFdCount).toBe(6);

    from.release(pids[0] as number);
    expect(heldProcFds(pids)).toBe(4);

    // pids[1] is no longer asked for: gone after two sweeps without it.
    await from.sample([{ pid: pids[2] as number }]);
    expect(heldProcFds(pids)).toBe(4);
    await from.sample([{ pid: pids[2] as number }]);
    expect(heldProcFds(pids)).toBe(2);

    from.close();
    expect(heldProcFds(pids)).toBe(0);
    expect(from.openFdCount).toBe(0);
  });
});
