// The counters a supervisor feeds: OOM kills (the kernel's count, which only
// rises) and restarts made for failing health checks. Through the tracker's
// public API on a real child process.
import { afterEach, describe, expect, it } from 'vitest';
import { OutOfRangeError, ProcessState } from '../../src/index.js';
import { killAll, spawnIdle } from '../support/process.js';
import { drain } from '../support/subscriptions.js';
import { trackerFactory } from '../support/trackers.js';

const newTracker = trackerFactory({ collectionInterval: 60_000 });
afterEach(killAll);

describe('recordOomKills and countHealthRestart', () => {
  it('start at 0 for every service, tracked or only registered', async () => {
    const tracker = newTracker();
    const child = spawnIdle();
    await tracker.track('api', child.pid);
    tracker.register('later');
    expect(tracker.get('api')).toMatchObject({ oomKills: 0, healthRestarts: 0 });
    expect(tracker.get('later')).toMatchObject({ oomKills: 0, healthRestarts: 0 });
  });

  it('the OOM count only rises, is published when it does, and outlives the process', async () => {
    const tracker = newTracker();
    const child = spawnIdle();
    await tracker.track('api', child.pid);
    const subscription = tracker.subscribe();
    expect(tracker.recordOomKills('api', 2)).toBe(true);
    expect(tracker.recordOomKills('api', 1)).toBe(true); // an older reading: no change
    expect(tracker.recordOomKills('api', 2)).toBe(true); // the same: no change
    tracker.updateState('api', ProcessState.Failed, 'killed by the OOM killer (memory limit 64.0 MiB)');
    const published = await drain(subscription, 2);
    expect(published.map((s) => [s.oomKills, s.state])).toEqual([
      [2, 'running'],
      [2, 'failed'],
    ]);
    await tracker.track('api', spawnIdle().pid);
    expect(tracker.get('api')).toMatchObject({ oomKills: 2, restartCount: 1 });
  });

  it('counts each health restart once, kept across the restart it made', async () => {
    const tracker = newTracker();
    await tracker.track('api', spawnIdle().pid);
    expect(tracker.countHealthRestart('api')).toBe(true);
    await tracker.track('api', spawnIdle().pid);
    expect(tracker.countHealthRestart('api')).toBe(true);
    expect(tracker.get('api')).toMatchObject({ healthRestarts: 2, restartCount: 1 });
  });

  it('refuse bad input with a typed error naming the argument, and unknown names with false', async () => {
    const tracker = newTracker();
    await tracker.track('api', spawnIdle().pid);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => tracker.recordOomKills('api', bad)).toThrow(OutOfRangeError);
      expect(() => tracker.recordOomKills('api', bad)).toThrow(/total/);
    }
    expect(() => tracker.recordOomKills('api', '3' as unknown as number)).toThrow(TypeError);
    expect(() => tracker.recordOomKills('api', undefined as unknown as number)).toThrow(TypeError);
    expect(() => tracker.countHealthRestart(7 as unknown as string)).toThrow(TypeError);
    expect(tracker.get('api')).toMatchObject({ oomKills: 0, healthRestarts: 0 });
    expect(tracker.recordOomKills('nope', 1)).toBe(false);
    expect(tracker.countHealthRestart('nope')).toBe(false);
  });
});
