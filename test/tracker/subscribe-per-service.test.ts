// A subscription whose buffer follows the number of tracked services.
import { describe, expect, it } from 'vitest';
import { OutOfRangeError } from '../../src/index.js';
import { trackerFactory } from '../support/trackers.js';

const newTracker = trackerFactory({ collectionInterval: 60_000, subscriberBufferSize: 16 });

describe('subscribe({ bufferPerService })', () => {
  it('holds whole rounds of every service for a reader that is late, and drops past them', async () => {
    const tracker = newTracker();
    const services = 300;
    for (let i = 0; i < services; i++) await tracker.track(`s${i}`, process.pid);
    const fixed = tracker.subscribe();
    const following = tracker.subscribe({ bufferPerService: 2 });
    // Two rounds of one snapshot per service, none read meanwhile: they fit in 16 + 2 x 300.
    for (let round = 0; round < 2; round++) for (let i = 0; i < services; i++) tracker.updateHealth(`s${i}`, round === 1);
    expect(fixed.dropped).toBe(2 * services - 16);
    expect(following.dropped).toBe(0);
    const seen: boolean[] = [];
    for await (const snapshot of following) {
      seen.push(snapshot.healthy);
      if (seen.length === 2 * services) break;
    }
    expect(seen.filter((healthy) => !healthy)).toHaveLength(services);
    // A third and fourth round unread: 16 more than 2 x 300 fit, the oldest of the rest go.
    const again = tracker.subscribe({ bufferPerService: 2 });
    for (let round = 0; round < 3; round++) for (let i = 0; i < services; i++) tracker.updateHealth(`s${i}`, round % 2 === 1);
    expect(again.dropped).toBe(3 * services - (16 + 2 * services));
    fixed.close();
    again.close();
  });

  it('refuses a count that is not a whole number up to 1024, naming the option', () => {
    const tracker = newTracker();
    for (const bad of [-1, 1.5, 1025, Number.NaN]) {
      expect(() => tracker.subscribe({ bufferPerService: bad })).toThrow(OutOfRangeError);
      expect(() => tracker.subscribe({ bufferPerService: bad })).toThrow(/options\.bufferPerService must be an integer from 0 to 1024/);
    }
    expect(tracker.stats().subscribers).toBe(0);
  });
});
