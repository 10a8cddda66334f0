import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { CollectionTimeoutError } from '../../src/core/errors.js';
import type { SampleTarget } from '../../src/core/collector-port.js';
import { GatedCollector, TableCollector } from '../support/fake-collector.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';
import { countTurns } from '../support/turns.js';

const newTracker = trackerFactory({ collectionInterval: 40 });
afterEach(killAll);

describe('one sweep per tick', () => {
  it('asks the collector for every service at once, with each start time as identity and its tree', async () => {
    const collector = new GatedCollector();
    const [a, b] = [spawnIdle(), spawnIdle()];
    const tracker = newTracker(collector);
    await tracker.track('a', a.pid);
    await tracker.track('b', b.pid);
    const starts = [tracker.get('a')?.startTime, tracker.get('b')?.startTime];
    tracker.start();
    await waitFor(() => collector.sweeps.some((s) => s.length === 2), { what: 'a sweep of both' });
    await tracker.stop();
    expect(collector.sweeps.find((s) => s.length === 2)).toEqual([
      { pid: a.pid, startTime: starts[0], descendants: true },
      { pid: b.pid, startTime: starts[1], descendants: true },
    ]);
  });
});

describe('a tick over many services', () => {
  it('gives the event loop turns while it records their snapshots', async () => {
    const fake = new TableCollector();
    const tracker = newTracker(fake);
    const count = 20_000;
    for (let pid = 1_000; pid < 1_000 + count; pid++) {
      fake.add(pid);
      await tracker.track(`svc-${pid}`, pid);
    }
    const sub = tracker.subscribe({ bufferSize: count });
    let turns = 0;
    let counting = true;
    const countTurn = (): void => {
      turns += 1;
      if (counting) setImmediate(countTurn);
    };
    const sweepsBefore = fake.sweeps;
    tracker.start();
    await waitFor(() => fake.sweeps > sweepsBefore, { what: 'the sweep' });
    const turnsAtSweep = turns;
    setImmediate(countTurn);
    await waitFor(() => tracker.stats().ticks >= 1, { what: 'the tick to end', intervalMs: 1 });
    counting = false;
    await tracker.stop();
    expect(sub.dropped).toBe(0);
    // Recording 20,000 snapshots takes well over one 2 ms slice; each slice ends in a turn.
    expect(turns - turnsAtSweep).toBeGreaterThan(2);
  });
});

describe('closing a tracker of many services', () => {
  it('releases what each holds in slices, with turns of the event loop between them', async () => {
    const loop = countTurns();
    const releasedInTurn = new Map<number, number>();
    const fake = new (class extends TableCollector {
      release(): void {
        releasedInTurn.set(loop.turns, (releasedInTurn.get(loop.turns) ?? 0) + 1);
      }
    })();
    const tracker = newTracker(fake);
    const count = 10_000;
    for (let pid = 1_000; pid < 1_000 + count; pid++) {
      fake.add(pid);
      await tracker.track(`svc-${pid}`, pid);
    }
    releasedInTurn.clear();
    await tracker.close();
    loop.stop();
    expect([...releasedInTurn.values()].reduce((a, b) => a + b, 0)).toBe(count);
    expect(releasedInTurn.size).toBeGreaterThanOrEqual(Math.ceil(count / 1024));
  });
});

describe('a burst of track() calls', () => {
  it('reads their first samples in one sweep and tracks every one', async () => {
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    const children = Array.from({ length: 60 }, () => spawnIdle());
    await Promise.all(children.map((child, i) => tracker.track(`svc-${i}`, child.pid)));
    expect(collector.sweeps).toHaveLength(1);
    expect(collector.sweeps[0]?.map((target) => target.pid)).toEqual(children.map((child) => child.pid));
    expect(tracker.getAll().map((m) => [m.serviceName, m.pid, m.state])).toEqual(
      children.map((child, i) => [`svc-${i}`, child.pid, 'running']).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  });

  it('rejects each call whose first sample timed out with a CollectionTimeoutError of its own pid', async () => {
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    const [stuck, other] = [spawnIdle(), spawnIdle()];
    collector.hanging.add(stuck.pid);
    const results = await Promise.allSettled([tracker.track('stuck', stuck.pid), tracker.track('other', other.pid)]);
    const errors = results.map((result) => (result.status === 'rejected' ? (result.reason as CollectionTimeoutError) : undefined));
    expect(errors.every((error) => error instanceof CollectionTimeoutError)).toBe(true);
    // A first sample has at least 1 s (it may wait for a walk of /proc), even on a 40 ms interval.
    expect(errors.map((error) => [error?.pid, error?.timeoutMs, error?.code])).toEqual([
      [stuck.pid, 1000, 'ETIMEDOUT'],
      [other.pid, 1000, 'ETIMEDOUT'],
    ]);
    expect(errors[0]?.message).toBe(`process ${stuck.pid}: collection timed out after 1000 ms`);
    expect(tracker.getAll()).toEqual([]);
  });
});

describe("a collector's prepare()", () => {
  it('is awaited before the budget of the first samples starts', async () => {
    const inner = new GatedCollector();
    const prepared: number[][] = [];
    const collector = {
      // Longer than the first samples' budget (1 s): counted in it, every call would time out.
      prepare: async (targets: readonly SampleTarget[]): Promise<void> => {
        prepared.push(targets.map((target) => target.pid));
        await sleep(1300);
      },
      sample: (targets: readonly SampleTarget[], signal?: AbortSignal) => inner.sample(targets, signal),
      close: () => inner.close(),
    };
    const tracker = newTracker(collector);
    const [a, b] = [spawnIdle(), spawnIdle()];
    await Promise.all([tracker.track('a', a.pid), tracker.track('b', b.pid)]);
    expect(prepared).toEqual([[a.pid, b.pid]]);
    expect(tracker.getAll().map((m) => [m.serviceName, m.pid])).toEqual([
      ['a', a.pid],
      ['b', b.pid],
    ]);
  });
});

describe('track() beside other sampling', () => {
  it("succeeds while a tick's sweep is still in flight", async () => {
    const collector = new GatedCollector();
    const slow = spawnIdle();
    const tracker = newTracker(collector);
    await tracker.track('slow', slow.pid);
    collector.hanging.add(slow.pid);
    const before = collector.sweeps.length;
    tracker.start();
    await waitFor(() => collector.sweeps.length > before, { what: 'a sweep in flight' });
    await tracker.track('b', spawnIdle().pid);
    await Promise.all([tracker.track('c', spawnIdle().pid), tracker.track('d', spawnIdle().pid)]);
    expect(tracker.getAll().map((m) => m.serviceName)).toEqual(['b', 'c', 'd', 'slow']);
  });

  it('of one name lets the call made last win', async () => {
    const [first, second] = [spawnIdle(), spawnIdle()];
    const tracker = newTracker();
    await Promise.all([tracker.track('a', first.pid), tracker.track('a', second.pid)]);
    expect(tracker.get('a')?.pid).toBe(second.pid);
  });
});
