// The original tracker's black-box acceptance list, kept in spirit, run
// through the production path: the /proc collector on real child processes.
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessState, cpuPercent, type ProcessMetrics } from '../../src/index.js';
import { GatedCollector } from '../support/fake-collector.js';
import { killAll, killAndWait, spawnIdle, waitFor } from '../support/process.js';
import { nextMatching } from '../support/subscriptions.js';
import { trackerFactory } from '../support/trackers.js';

const newTracker = trackerFactory({ collectionInterval: 50 });
afterEach(killAll);

describe('tracking', () => {
  it('tracks a new service as running, healthy, restart count 0', async () => {
    const { pid } = spawnIdle();
    const tracker = newTracker();
    await tracker.track('api', pid);
    const m = tracker.get('api');
    expect(m).toMatchObject({ serviceName: 'api', pid, state: 'running', healthy: true, restartCount: 0, lastError: '' });
  });

  it('counts tracking the same name with a new pid as a restart', async () => {
    const [first, second] = [spawnIdle(), spawnIdle()];
    const tracker = newTracker();
    await tracker.track('api', first.pid);
    await tracker.track('api', second.pid);
    expect(tracker.get('api')).toMatchObject({ pid: second.pid, restartCount: 1, state: 'running' });
  });

  it('forgets an untracked service', async () => {
    const tracker = newTracker();
    await tracker.track('api', spawnIdle().pid);
    expect(tracker.get('api')).toBeDefined();
    expect(tracker.untrack('api')).toBe(true);
    expect(tracker.get('api')).toBeUndefined();
    expect(tracker.untrack('api')).toBe(false);
  });

  it.each([0, 1, 2])('getAll returns every one of %i services, sorted by name', async (count) => {
    const tracker = newTracker();
    const names = ['web', 'api'].slice(0, count);
    for (const name of names) await tracker.track(name, spawnIdle().pid);
    expect(tracker.getAll().map((m) => m.serviceName)).toEqual([...names].sort());
  });
});

describe('subscriptions', () => {
  it.each([1, 3])('delivers collected updates with the right name and pid to %i subscribers', async (count) => {
    const { pid } = spawnIdle();
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    await tracker.track('api', pid);
    const subs = Array.from({ length: count }, () => tracker.subscribe());
    const before = collector.sweeps.length;
    tracker.start();
    const received = await Promise.all(subs.map((s) => nextMatching(s, () => collector.sweeps.length > before)));
    for (const m of received) expect(m).toMatchObject({ serviceName: 'api', pid });
  });
});

describe('state and health', () => {
  let pid = 0;
  async function tracked(): Promise<ReturnType<typeof newTracker>> {
    pid = spawnIdle().pid;
    const tracker = newTracker();
    await tracker.track('api', pid);
    return tracker;
  }

  it('failed keeps the error and clears the pid', async () => {
    const tracker = await tracked();
    expect(tracker.updateState('api', ProcessState.Failed, 'exit code 3')).toBe(true);
    expect(tracker.get('api')).toMatchObject({ state: 'failed', lastError: 'exit code 3', pid: 0 });
  });

  it('running keeps the pid', async () => {
    const tracker = await tracked();
    tracker.updateState('api', ProcessState.Running);
    expect(tracker.get('api')).toMatchObject({ state: 'running', pid });
  });

  it('stopped clears the pid and zeroes CPU and memory', async () => {
    const tracker = await tracked();
    tracker.updateState('api', ProcessState.Stopped);
    const m = tracker.get('api');
    expect(m).toMatchObject({ state: 'stopped', pid: 0, uptime: 0 });
    expect(m?.memory.rss).toBe(0);
    expect(m?.cpu.usagePercent).toBe(0);
  });

  it('ignores unknown services without creating them', async () => {
    const tracker = await tracked();
    expect(tracker.updateState('nope', ProcessState.Running)).toBe(false);
    expect(tracker.updateHealth('nope', false)).toBe(false);
    expect(tracker.get('nope')).toBeUndefined();
    expect(tracker.getAll()).toHaveLength(1);
  });

  it.each([true, false])('records health %s', async (healthy) => {
    const tracker = await tracked();
    tracker.updateHealth('api', !healthy);
    expect(tracker.updateHealth('api', healthy)).toBe(true);
    expect(tracker.get('api')?.healthy).toBe(healthy);
  });
});

describe('lifecycle', () => {
  it('start twice, stop twice and stop without start are harmless', async () => {
    const idle = newTracker();
    await idle.stop();
    const tracker = newTracker();
    tracker.start();
    tracker.start();
    expect(tracker.running).toBe(true);
    await tracker.stop();
    await tracker.stop();
    expect(tracker.running).toBe(false);
  });

  it('collects CPU and memory each tick and keeps the service running', async () => {
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    await tracker.track('api', spawnIdle().pid);
    const sub = tracker.subscribe();
    tracker.start();
    const seen: ProcessMetrics[] = [];
    for await (const m of sub) if (seen.push(m) === 3) break;
    await tracker.stop();
    expect(collector.sweeps.length).toBeGreaterThanOrEqual(4); // track() and three ticks
    for (const m of seen) expect(m.memory.rss).toBeGreaterThan(0);
    expect(tracker.get('api')?.state).toBe('running');
  });

  it('marks a service failed when the collector cannot find its process', async () => {
    const idle = spawnIdle();
    const tracker = newTracker();
    await tracker.track('api', idle.pid);
    await killAndWait(idle);
    tracker.start();
    await waitFor(() => tracker.get('api')?.state === 'failed', { what: 'state failed' });
    expect(tracker.get('api')).toMatchObject({ pid: 0, lastError: `process ${idle.pid} exited` });
  });
});

describe('CPU percent of one core', () => {
  // The original's table in CPU seconds (it counted jiffies at 100 Hz).
  it.each([
    { prev: [1, 1], cur: [2, 2], elapsedMs: 1000, expected: 200 },
    { prev: [1, 1], cur: [2, 2], elapsedMs: 0, expected: 0 },
    { prev: [1, 1], cur: [2, 2], elapsedMs: -1000, expected: 0 },
    { prev: [2, 2], cur: [1, 1], elapsedMs: 1000, expected: 0 },
    { prev: [0.1, 0.1], cur: [0.15, 0.15], elapsedMs: 1000, expected: 10 },
    { prev: [1, 1], cur: [1, 1], elapsedMs: 1000, expected: 0 },
  ])('$prev -> $cur over $elapsedMs ms is $expected %', ({ prev, cur, elapsedMs, expected }) => {
    const [pu = 0, ps = 0] = prev;
    const [cu = 0, cs = 0] = cur;
    expect(cpuPercent(pu + ps, cu + cs, elapsedMs)).toBeCloseTo(expected, 9);
  });
});
