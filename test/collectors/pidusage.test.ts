import { afterEach, describe, expect, it } from 'vitest';
import { ProcessNotFoundError } from '../../src/core/errors.js';
import { PidusageCollector } from '../../src/collectors/index.js';
import { readFileSync } from 'node:fs';
import { killAll, killAndWait, spawnChild, spawnIdle, waitFor } from '../support/process.js';

const BURN_THEN_IDLE = 'const end = Date.now() + 200; while (Date.now() < end); setInterval(() => {}, 1e6);';

/** utime + stime of a process, in clock ticks, from its stat. */
function ownCpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

afterEach(killAll);

describe('PidusageCollector', () => {
  it('fills CPU time, RSS and start time and leaves the rest unknown', async () => {
    // A child that burns 200 ms of CPU and then idles: its CPU time is known and no longer moves much.
    const beforeSpawn = Date.now();
    const child = spawnChild(process.execPath, ['-e', BURN_THEN_IDLE]);
    const pid = child.pid as number;
    const burned = await waitFor(() => (ownCpuTicks(pid) >= 20 ? ownCpuTicks(pid) / 100 : false), { what: '200 ms of CPU burned' });
    const collector = new PidusageCollector();
    const [outcome] = await collector.sample([{ pid }]);
    if (!outcome?.ok) throw new Error(String(outcome?.error));
    const { sample } = outcome;
    expect(sample.memory.rss).toBeGreaterThan(0);
    expect(sample.cpu.system).toBe(0);
    // pidusage gives one CPU total, reported as user time: at least what /proc counted before the sample.
    expect(sample.cpu.user).toBeGreaterThanOrEqual(burned);
    expect(sample.cpu.user).toBeLessThanOrEqual(ownCpuTicks(pid) / 100 + 0.01);
    expect(sample.startTime).toBeGreaterThanOrEqual(beforeSpawn - 1000); // pidusage dates from whole seconds of uptime
    expect(sample.startTime).toBeLessThanOrEqual(Date.now());
    expect(sample).toMatchObject({ numFDs: null, numThreads: null, readBytes: null, cpusAvailable: null });
    expect(sample.memory).toMatchObject({ vms: null, swap: null });
  });

  it('samples several pids in one call, failing only the missing ones', async () => {
    const [a, b] = [spawnIdle(), spawnIdle()];
    const collector = new PidusageCollector();
    await killAndWait(b);
    const outcomes = await collector.sample([{ pid: a.pid }, { pid: b.pid }, { pid: 0 }]);
    expect(outcomes[0]?.ok).toBe(true);
    expect(outcomes[1]?.ok === false && outcomes[1].error).toBeInstanceOf(ProcessNotFoundError);
    expect(outcomes[2]?.ok === false && outcomes[2].error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('keeps a stable start time and rejects a target pinned to another one', async () => {
    const child = spawnIdle();
    const collector = new PidusageCollector();
    const [one] = await collector.sample([{ pid: child.pid }]);
    const [two] = await collector.sample([{ pid: child.pid }]);
    if (!one?.ok || !two?.ok) throw new Error('both samples should succeed');
    const first = one.sample;
    expect(two.sample.startTime).toBe(first.startTime);
    const [outcome] = await collector.sample([{ pid: child.pid, startTime: first.startTime - 3_600_000 }]);
    expect(outcome?.ok === false && outcome.error).toBeInstanceOf(ProcessNotFoundError);
  });

  it('reports a process that is gone with ProcessNotFoundError', async () => {
    const child = spawnIdle();
    await killAndWait(child);
    const [outcome] = await new PidusageCollector().sample([{ pid: child.pid }]);
    expect(outcome?.ok === false && outcome.error).toBeInstanceOf(ProcessNotFoundError);
  });
});
