import { describe, expect, it } from 'vitest';
import {
  ProcessNotFoundError,
  type Collector,
  type ProcessSample,
  type SampleOutcome,
  type SampleTarget,
} from '../../src/index.js';
import { FakeCollector } from '../support/fake-collector.js';
import { waitFor } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';

/** The fake process table behind the batch path of the port. */
class BatchFake extends FakeCollector implements Collector {
  batches: SampleTarget[][] = [];
  hangBatches = false;
  wrongLength = false;
  released: number[] = [];

  async sample(targets: readonly SampleTarget[]): Promise<SampleOutcome[]> {
    this.batches.push([...targets]);
    if (this.hangBatches || targets.some((t) => this.hanging.has(t.pid))) await new Promise(() => {});
    const outcomes = targets.map((t): SampleOutcome => {
      const p = this.processes.get(t.pid);
      if (!p || (t.startTime !== undefined && t.startTime !== p.startTime)) {
        return { ok: false, error: new ProcessNotFoundError(t.pid) };
      }
      return { ok: true, sample: sampleOf(t.pid, p) };
    });
    return this.wrongLength ? outcomes.slice(1) : outcomes;
  }

  release(pid: number): void {
    this.released.push(pid);
  }
}

function sampleOf(pid: number, p: { user: number; system: number; rss: number; startTime: number }): ProcessSample {
  return {
    pid,
    timestamp: Date.now(),
    startTime: p.startTime,
    cpu: { user: p.user, system: p.system, childrenUser: 0, childrenSystem: 0 },
    cpusAvailable: 2,
    memory: { rss: p.rss, vms: 2 * p.rss, shared: 0, swap: 0, data: 0, stack: 0 },
    numThreads: 3,
    numFDs: 4,
    readBytes: 100,
    writeBytes: 200,
    voluntaryContextSwitches: 5,
    involuntaryContextSwitches: 6,
    majorFaults: 7,
    minorFaults: 8,
  };
}

const newTracker = trackerFactory({ collectionInterval: 40 });

describe('a collector with a batch path', () => {
  it('is sampled in one sweep per tick, with each start time as identity', async () => {
    const fake = new BatchFake();
    fake.add(1, { startTime: 1_000 });
    fake.add(2, { startTime: 2_000 });
    const tracker = newTracker(fake);
    await tracker.track('a', 1);
    await tracker.track('b', 2);
    tracker.start();
    await waitFor(() => fake.batches.some((b) => b.length === 2), { what: 'a sweep of both' });
    await tracker.stop();
    expect(fake.batches.find((b) => b.length === 2)).toEqual([
      { pid: 1, startTime: 1_000 },
      { pid: 2, startTime: 2_000 },
    ]);
    expect(fake.calls).toEqual([]); // the two single-pid methods were never needed
    expect(tracker.get('a')).toMatchObject({ numThreads: 3, numFDs: 4, readBytes: 100, minorFaults: 8 });
  });

  it('times out a hanging sweep without failing anyone, and does not pile sweeps up', async () => {
    const fake = new BatchFake();
    fake.add(3);
    const tracker = newTracker(fake);
    await tracker.track('a', 3);
    fake.hangBatches = true;
    const before = fake.batches.length;
    tracker.start();
    await waitFor(() => tracker.stats().collectionTimeouts >= 3, { what: 'three timed-out ticks' });
    await tracker.stop();
    expect(fake.batches.length - before).toBe(1);
    expect(tracker.get('a')?.state).toBe('running');
  });

  it('treats a sweep with the wrong number of outcomes as an error, not an exit', async () => {
    const fake = new BatchFake();
    fake.add(4);
    const tracker = newTracker(fake);
    await tracker.track('a', 4);
    fake.wrongLength = true;
    tracker.start();
    await waitFor(() => tracker.stats().collectionErrors >= 2, { what: 'errors' });
    await tracker.stop();
    expect(tracker.get('a')?.state).toBe('running');
  });

  it('releases the pid when a service is untracked or exits', async () => {
    const fake = new BatchFake();
    fake.add(5);
    fake.add(6);
    const tracker = newTracker(fake);
    await tracker.track('a', 5);
    await tracker.track('b', 6);
    fake.released = [];
    tracker.untrack('a');
    fake.processes.delete(6);
    tracker.start();
    await waitFor(() => tracker.get('b')?.state === 'failed', { what: 'b to fail' });
    expect(fake.released.sort()).toEqual([5, 6]);
  });
});

describe('a tick over many services', () => {
  it('gives the event loop turns while it records their snapshots', async () => {
    const fake = new BatchFake();
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
    const sweepsBefore = fake.batches.length;
    tracker.start();
    await waitFor(() => fake.batches.length > sweepsBefore, { what: 'the sweep' });
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

describe('track() beside other sampling', () => {
  it('succeeds while a tick\'s sweep is still in flight', async () => {
    const fake = new BatchFake();
    fake.add(9);
    fake.add(10);
    const tracker = newTracker(fake);
    await tracker.track('slow', 9);
    fake.hanging.add(9);
    const before = fake.batches.length;
    tracker.start();
    await waitFor(() => fake.batches.length > before, { what: 'a sweep in flight' });
    await tracker.track('b', 10);
    fake.add(11);
    fake.add(12);
    await Promise.all([tracker.track('c', 11), tracker.track('d', 12)]);
    expect(tracker.getAll().map((m) => m.serviceName)).toEqual(['b', 'c', 'd', 'slow']);
  });

  it('of one name lets the call made last win', async () => {
    const fake = new FakeCollector();
    fake.add(7);
    fake.add(8);
    const tracker = newTracker(fake);
    await Promise.all([tracker.track('a', 7), tracker.track('a', 8)]);
    expect(tracker.get('a')?.pid).toBe(8);
  });
});
