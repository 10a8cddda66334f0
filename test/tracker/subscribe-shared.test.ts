// A subscription that takes the tracker's own snapshots instead of copies.
import { describe, expect, it } from 'vitest';
import { ProcessState, type ProcessMetrics } from '../../src/index.js';
import { trackerFactory } from '../support/trackers.js';

const newTracker = trackerFactory({ collectionInterval: 60_000 });

/** The tracker's own snapshot of `name`, uncopied. */
function ownSnapshot(tracker: ReturnType<typeof newTracker>, name: string): Readonly<ProcessMetrics> | undefined {
  let own: Readonly<ProcessMetrics> | undefined;
  tracker.forEachSnapshot((snapshot) => {
    if (snapshot.serviceName === name) own = snapshot;
  });
  return own;
}

describe('subscribe({ shared })', () => {
  it('hands a shared reader the published snapshot itself, and every other reader a copy of its own', async () => {
    const tracker = newTracker();
    tracker.register('web');
    const shared = tracker.subscribe({ shared: true });
    const copying = tracker.subscribe();
    tracker.updateState('web', ProcessState.Running);
    const own = ownSnapshot(tracker, 'web');

    const fromShared = (await shared[Symbol.asyncIterator]().next()).value as ProcessMetrics;
    const fromCopying = (await copying[Symbol.asyncIterator]().next()).value as ProcessMetrics;
    expect(fromShared).toBe(own);
    expect(fromCopying).not.toBe(own);
    expect(fromCopying.cpu).not.toBe(own?.cpu);
    expect(fromCopying).toEqual(own);

    // The next change is a new object: what the shared reader holds stays as it was.
    tracker.updateState('web', ProcessState.Stopping);
    expect(fromShared.state).toBe(ProcessState.Running);
    expect(ownSnapshot(tracker, 'web')).not.toBe(own);
    shared.close();
    copying.close();
  });

  it('refuses a value that is not a boolean, naming the option', () => {
    const tracker = newTracker();
    expect(() => tracker.subscribe({ shared: 'yes' as never })).toThrow(TypeError);
    expect(() => tracker.subscribe({ shared: 'yes' as never })).toThrow(/options\.shared/);
    expect(tracker.stats().subscribers).toBe(0);
  });
});
