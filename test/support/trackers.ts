import { afterEach } from 'vitest';
import { Tracker, type Collector, type PerPidCollector, type TrackerOptions } from '../../src/index.js';

/**
 * Returns a function that makes trackers with the given defaults, and closes
 * every one of them after each test. Call it at the top of a test file.
 */
export function trackerFactory(defaults: TrackerOptions): (collector?: Collector | PerPidCollector, options?: TrackerOptions) => Tracker {
  const made: Tracker[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((t) => t.close()));
  });
  return (collector, options = {}) => {
    const tracker = new Tracker(collector, { meterProvider: null, ...defaults, ...options });
    made.push(tracker);
    return tracker;
  };
}
