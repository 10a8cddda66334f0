// The tracker's figures about its own work, read from a real tracker on a real child.
import { afterEach, describe, expect, it } from 'vitest';
import { ProcfsCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';

let tracker: Tracker | undefined;
afterEach(async () => {
  await tracker?.close();
  await killAll();
});

describe('tracker self-metrics', () => {
  it('records every tick in the duration histogram, the interval, the last sweep and the fds the collector holds', async () => {
    tracker = new Tracker(new ProcfsCollector(), { collectionInterval: 100, meterProvider: null });
    const before = tracker.stats();
    expect(before.tickDurations.count).toBe(0);
    expect(before.tickDurations.counts).toHaveLength(before.tickDurations.boundsMs.length + 1);
    expect(before.intervalMs).toBe(100);
    await tracker.track('idle', spawnIdle().pid);
    tracker.start();
    await waitFor(() => tracker!.stats().ticks >= 3, { what: 'three ticks' });
    await tracker.stop();
    const stats = tracker.stats();
    expect(stats.tickDurations.count).toBe(stats.ticks);
    expect(stats.tickDurations.counts.reduce((a, b) => a + b, 0)).toBe(stats.ticks);
    expect(stats.tickDurations.sumMs).toBeGreaterThanOrEqual(stats.lastTickDurationMs);
    expect(stats.lastSweepTargets).toBe(1);
    expect(stats.lastSweepDurationMs).toBeGreaterThan(0);
    expect(stats.lastSweepDurationMs).toBeLessThanOrEqual(stats.lastTickDurationMs);
    // The full field set keeps stat, statm, status and io of the child open.
    expect(stats.collectorOpenFds).toBe(4);
  });
});
