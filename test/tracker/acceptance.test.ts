// The original tracker's black-box acceptance list, kept in spirit.
import { describe, expect, it } from 'vitest';
import { ProcessState, Tracker, cpuPercent, type ProcessMetrics, type Subscription } from '../../src/index.js';
import { FakeCollector } from '../support/fake-collector.js';
import { waitFor } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';

const makeTracker = trackerFactory({ collectionInterval: 50 });
function newTracker(collector: FakeCollector, collectionInterval = 50): Tracker {
  return makeTracker(collector, { collectionInterval });
}

async function nextMatching(sub: Subscription, match: (m: ProcessMetrics) => boolean): Promise<ProcessMetrics> {
  for await (const m of sub) if (match(m)) return m;
  throw new Error('subscription ended');
}

describe('tracking', () => {
  it('tracks a new service as running, healthy, restart count 0', async () => {
    const fake = new FakeCollector();
    fake.add(100);
    const tracker = newTracker(fake);
    await tracker.track('api', 100);
    const m = tracker.get('api');
    expect(m).toMatchObject({ serviceName: 'api', pid: 100, state: 'running', healthy: true, restartCount: 0, lastError: '' });
  });

  it('counts tracking the same name with a new pid as a restart', async () => {
    const fake = new FakeCollector();
    fake.add(100);
    fake.add(101);
    const tracker = newTracker(fake);
    await tracker.track('api', 100);
    await tracker.track('api', 101);
    expect(tracker.get('api')).toMatchObject({ pid: 101, restartCount: 1, state: 'running' });
  });

  it('forgets an untracked service', async () => {
    const fake = new FakeCollector();
    fake.add(100);
    const tracker = newTracker(fake);
    await tracker.track('api', 100);
    expect(tracker.get('api')).toBeDefined();
    expect(tracker.untrack('api')).toBe(true);
    expect(tracker.get('api')).toBeUndefined();
    expect(tracker.untrack('api')).toBe(false);
  });

  it.each([0, 1, 2])('getAll returns every one of %i services, sorted by name', async (count) => {
    const fake = new FakeCollector();
    const tracker = newTracker(fake);
    const names = ['web', 'api'].slice(0, count);
    for (const [i, name] of names.entries()) {
      fake.add(200 + i);
      await tracker.track(name, 200 + i);
    }
    expect(tracker.getAll().map((m) => m.serviceName)).toEqual([...names].sort());
  });
});

describe('subscriptions', () => {
  it.each([1, 3])('delivers collected updates with the right name and pid to %i subscribers', async (count) => {
    const fake = new FakeCollector();
    fake.add(300);
    const tracker = newTracker(fake);
    await tracker.track('api', 300);
    const subs = Array.from({ length: count }, () => tracker.subscribe());
    const before = fake.calls.length;
    tracker.start();
    const received = await Promise.all(subs.map((s) => nextMatching(s, (m) => m.timestamp > 0 && fake.calls.length > before)));
    for (const m of received) expect(m).toMatchObject({ serviceName: 'api', pid: 300 });
  });
});

describe('state and health', () => {
  async function tracked(): Promise<Tracker> {
    const fake = new FakeCollector();
    fake.add(400);
    const tracker = newTracker(fake);
    await tracker.track('api', 400);
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
    expect(tracker.get('api')).toMatchObject({ state: 'running', pid: 400 });
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
    const fake = new FakeCollector();
    const idle = newTracker(fake);
    await idle.stop();
    const tracker = newTracker(fake);
    tracker.start();
    tracker.start();
    expect(tracker.running).toBe(true);
    await tracker.stop();
    await tracker.stop();
    expect(tracker.running).toBe(false);
  });

  it('collects CPU and memory each tick and keeps the service running', async () => {
    const fake = new FakeCollector();
    fake.add(500);
    const tracker = newTracker(fake);
    await tracker.track('api', 500);
    tracker.start();
    await waitFor(() => fake.calls.filter((c) => c.method === 'memory').length >= 3, { what: 'three memory reads' });
    await tracker.stop();
    expect(fake.calls.filter((c) => c.method === 'cpu').length).toBeGreaterThanOrEqual(3);
    expect(tracker.get('api')?.state).toBe('running');
  });

  it('marks a service failed when the collector cannot find its process', async () => {
    const fake = new FakeCollector();
    fake.add(600);
    const tracker = newTracker(fake);
    await tracker.track('api', 600);
    fake.processes.delete(600);
    tracker.start();
    await waitFor(() => tracker.get('api')?.state === 'failed', { what: 'state failed' });
    expect(tracker.get('api')).toMatchObject({ pid: 0, lastError: 'process 600 exited' });
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
