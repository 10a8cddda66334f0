// A subscriber that never reads while 100,000 snapshots pass.
import { describe, expect, it } from 'vitest';
import { trackerFactory } from '../support/trackers.js';
import { heapAfterGc, report, size } from './core-support.js';

const SNAPSHOTS = size(100_000, 1_000_000);
const BUFFER = 64;
const newTracker = trackerFactory({ collectionInterval: 60_000 });

describe(`a subscriber that never reads while ${SNAPSHOTS} snapshots pass`, () => {
  it('holds at most its buffer and counts every drop exactly', async () => {
    const tracker = newTracker();
    await tracker.track('api', process.pid);
    const idle = tracker.subscribe({ bufferSize: BUFFER });
    const reader = tracker.subscribe({ bufferSize: BUFFER, replay: true });
    const heapBefore = heapAfterGc();
    // Each health flip publishes one snapshot.
    for (let i = 0; i < SNAPSHOTS; i++) tracker.updateHealth('api', i % 2 === 0 ? false : true);
    const heapGrowth = heapAfterGc() - heapBefore;
    const kept = [];
    for await (const m of reader) {
      kept.push(m);
      if (kept.length === BUFFER) break;
    }
    report('slow-subscriber', {
      snapshots: SNAPSHOTS,
      buffer: BUFFER,
      dropped: idle.dropped,
      droppedTotal: tracker.stats().droppedSnapshots,
      heapGrowthBytes: heapGrowth,
    });
    expect(idle.dropped).toBe(SNAPSHOTS - BUFFER);
    // The replaying subscriber had one more (its replayed snapshot) to drop.
    expect(tracker.stats().droppedSnapshots).toBe(2 * (SNAPSHOTS - BUFFER) + 1);
    expect(kept.at(-1)?.healthy).toBe(SNAPSHOTS % 2 === 0); // the newest survive
    expect(heapGrowth).toBeLessThan(5 * 1024 * 1024);
    idle.close();
  });
});
