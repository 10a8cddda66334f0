// The tracker end to end with the default collector and real processes.
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessNotFoundError, type ProcessMetrics } from '../../src/index.js';
import { ask, startWorkload } from '../collectors/workloads.js';
import { killAll, killAndWait, spawnIdle, waitFor } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';

const newTracker = trackerFactory({ collectionInterval: 250 });
/** How long a child is left to live before its uptime is read. */
const AGE_MS = 300;
/** The error of a start time read from /proc: clock ticks and the boot time's own rounding. */
const CLOCK_SLACK_MS = 50;
afterEach(killAll);

/** A pid that belonged to a process which has exited and been reaped. */
function deadPid(): number {
  const { pid } = spawnSync('true');
  if (!pid) throw new Error('could not spawn true');
  return pid;
}

describe('with real processes', () => {
  it('rejects a pid whose process is gone', async () => {
    const tracker = newTracker();
    await expect(tracker.track('gone', deadPid())).rejects.toBeInstanceOf(ProcessNotFoundError);
    expect(tracker.getAll()).toEqual([]);
  });

  it('shows the CPU share a child really uses, measured against its own accounting', async () => {
    const burner = await startWorkload('burn.mjs', ['50']);
    const idle = spawnIdle();
    const tracker = newTracker();
    await tracker.track('burner', burner.pid);
    await tracker.track('idle', idle.pid);
    const first = tracker.get('burner') as ProcessMetrics;
    const ownBefore = await ask<{ usage: NodeJS.CpuUsage }>(burner, 'usage');
    tracker.start();
    await waitFor(() => tracker.stats().ticks >= 8, { what: 'eight ticks' });
    await tracker.stop();
    const ownAfter = await ask<{ usage: NodeJS.CpuUsage }>(burner, 'usage');
    const last = tracker.get('burner') as ProcessMetrics;

    const ownSeconds = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;
    const seenSeconds = (m: ProcessMetrics): number => m.cpu.user + m.cpu.system;
    // Cumulative CPU time agrees with what the child counted for itself (clock-tick resolution).
    expect(seenSeconds(last) - seenSeconds(first)).toBeGreaterThan(0.5 * (ownSeconds(ownAfter.usage) - ownSeconds(ownBefore.usage)));
    // The last tick's percentage: a 50 % duty cycle, not the original's constant 0.
    expect(last.cpu.usagePercent).toBeGreaterThan(25);
    expect(last.cpu.usagePercent).toBeLessThan(75);
    expect(last.cpu.usagePercent).toBeCloseTo(last.cpu.userPercent + last.cpu.systemPercent, 6);
    expect(tracker.get('idle')?.cpu.usagePercent).toBeLessThan(5);
  });

  it('fills memory, threads, fds and uptime of a real process', async () => {
    const beforeSpawn = Date.now();
    const idle = spawnIdle();
    const spawned = Date.now();
    await sleep(AGE_MS);
    const tracker = newTracker();
    await tracker.track('idle', idle.pid);
    const sampled = Date.now();
    const m = tracker.get('idle') as ProcessMetrics;
    expect(m.memory.rss).toBeGreaterThan(0); // just spawned: it may not have exec()ed yet
    expect(m.memory.vms).toBeGreaterThanOrEqual(m.memory.rss);
    expect(m.numThreads).toBe(1);
    expect(m.numFDs).toBeGreaterThanOrEqual(3);
    // Start times come in clock ticks (10 ms) from a boot time of its own: a little slack either side.
    expect(m.startTime).toBeGreaterThanOrEqual(beforeSpawn - CLOCK_SLACK_MS);
    expect(m.startTime).toBeLessThanOrEqual(spawned + CLOCK_SLACK_MS);
    // It lived AGE_MS before the sample at least, and no longer than since just before its spawn.
    expect(m.uptime).toBeGreaterThanOrEqual(AGE_MS - CLOCK_SLACK_MS);
    expect(m.uptime).toBeLessThanOrEqual(sampled - beforeSpawn + CLOCK_SLACK_MS);
  });

  it('marks a killed child failed at the next tick, once', async () => {
    const idle = spawnIdle();
    const tracker = newTracker();
    await tracker.track('idle', idle.pid);
    const sub = tracker.subscribe();
    tracker.start();
    await killAndWait(idle);
    await waitFor(() => tracker.get('idle')?.state === 'failed', { what: 'failed state' });
    expect(tracker.get('idle')).toMatchObject({ pid: 0, lastError: `process ${idle.pid} exited` });
    await waitFor(() => tracker.stats().ticks >= 4, { what: 'more ticks' });
    sub.close();
    let failures = 0;
    for await (const m of sub) if (m.state === 'failed') failures += 1;
    expect(failures).toBeLessThanOrEqual(1);
  });
});
