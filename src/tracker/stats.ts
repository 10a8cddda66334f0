import { TICK_DURATION_BOUNDS_MS, addHistograms } from './histogram.js';
import type { TrackerStats } from './types.js';

/** The figures of a tracker that has done nothing yet. */
export function emptyStats(intervalMs = 0): TrackerStats {
  return {
    ticks: 0,
    lastTickDurationMs: 0,
    tickDurations: {
      boundsMs: TICK_DURATION_BOUNDS_MS,
      counts: new Array<number>(TICK_DURATION_BOUNDS_MS.length + 1).fill(0),
      sumMs: 0,
      count: 0,
    },
    intervalMs,
    lastSweepDurationMs: 0,
    lastSweepTargets: 0,
    collectorOpenFds: null,
    collectionErrors: 0,
    collectionTimeouts: 0,
    processExits: 0,
    droppedSnapshots: 0,
    subscribers: 0,
    services: 0,
  };
}

/**
 * Several trackers reporting as one: counts and histograms add up; the
 * slowest last tick and sweep stand, with the shortest interval.
 */
export function combineStats(all: readonly TrackerStats[]): TrackerStats {
  if (all.length === 1) return all[0] as TrackerStats;
  return all.reduce(
    (sum, s) => ({
      ticks: sum.ticks + s.ticks,
      lastTickDurationMs: Math.max(sum.lastTickDurationMs, s.lastTickDurationMs),
      tickDurations: addHistograms(sum.tickDurations, s.tickDurations),
      intervalMs: sum.intervalMs === 0 ? s.intervalMs : Math.min(sum.intervalMs, s.intervalMs),
      lastSweepDurationMs: Math.max(sum.lastSweepDurationMs, s.lastSweepDurationMs),
      lastSweepTargets: Math.max(sum.lastSweepTargets, s.lastSweepTargets),
      collectorOpenFds: s.collectorOpenFds === null ? sum.collectorOpenFds : (sum.collectorOpenFds ?? 0) + s.collectorOpenFds,
      collectionErrors: sum.collectionErrors + s.collectionErrors,
      collectionTimeouts: sum.collectionTimeouts + s.collectionTimeouts,
      processExits: sum.processExits + s.processExits,
      droppedSnapshots: sum.droppedSnapshots + s.droppedSnapshots,
      subscribers: sum.subscribers + s.subscribers,
      services: sum.services + s.services,
    }),
    emptyStats(),
  );
}
