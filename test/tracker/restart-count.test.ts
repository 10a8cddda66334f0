// track(name, pid, { restartCount }) and updateRestartCount(): a count kept by whoever restarts the service.
import { afterEach, describe, expect, it } from 'vitest';
import { OutOfRangeError } from '../../src/index.js';
import { killAll, spawnIdle } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';

const newTracker = trackerFactory({ collectionInterval: 100 });
afterEach(killAll);

describe('a restart count kept by the caller', () => {
  it('restartCount on the first track() is taken as it is, and a later track() counts on from the given one', async () => {
    const tracker = newTracker();
    await tracker.track('api', spawnIdle().pid, { restartCount: 7 });
    expect(tracker.get('api')?.restartCount).toBe(7);
    await tracker.track('api', spawnIdle().pid, { restartCount: 9 });
    expect(tracker.get('api')?.restartCount).toBe(9);
    await tracker.track('api', spawnIdle().pid);
    expect(tracker.get('api')?.restartCount).toBe(10);
  });

  it('updateRestartCount() sets the count of a service without a process, publishes it once, and is false for unknown names', async () => {
    const tracker = newTracker();
    tracker.register('worker', 'failed', 'errored');
    const subscription = tracker.subscribe();
    expect(tracker.updateRestartCount('worker', 15)).toBe(true);
    expect(tracker.updateRestartCount('worker', 15)).toBe(true);
    // A marker after the two calls: the snapshot before it is the only one they published.
    tracker.updateState('worker', 'stopped', '');
    const next = subscription[Symbol.asyncIterator]();
    expect((await next.next()).value).toMatchObject({ state: 'failed', restartCount: 15, lastError: 'errored' });
    expect((await next.next()).value).toMatchObject({ state: 'stopped', restartCount: 15 });
    subscription.close();
    expect(tracker.updateRestartCount('nobody', 1)).toBe(false);
    // Only register()ed before: its first process is no restart, and the count given stays.
    await tracker.track('worker', spawnIdle().pid);
    expect(tracker.get('worker')?.restartCount).toBe(15);
  });

  it.each([
    [-1, OutOfRangeError],
    [1.5, OutOfRangeError],
    [Number.NaN, OutOfRangeError],
    ['3', TypeError],
    [undefined, TypeError],
  ])('refuses the count %s, naming the argument', async (bad, kind) => {
    const tracker = newTracker();
    tracker.register('api');
    expect(() => tracker.updateRestartCount('api', bad as number)).toThrow(kind);
    expect(() => tracker.updateRestartCount('api', bad as number)).toThrow(/^restartCount must be (a number|an integer from 0 to)/);
    if (bad !== undefined) {
      await expect(tracker.track('api', process.pid, { restartCount: bad as number })).rejects.toThrow(/^options\.restartCount must be/);
    }
  });
});
