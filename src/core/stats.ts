import { TICK_DURATION_BOUNDS_MS, addHistograms, type DurationHistogram } from './histogram.js';

/** Counters of the tracker's own work, for self-monitoring. */
export interface TrackerStats {
  /** Ticks completed since construction. */
  ticks: number;
  /** Wall time of the last tick, ms. */
  lastTickDurationMs: number;
  /** Wall time of every tick so far, ms, in buckets. */
  tickDurations: DurationHistogram;
  /** Time between ticks as configured, ms. */
  intervalMs: number;
  /** Wall time of the collector's last sweep, ms, and how many targets it read. */
  lastSweepDurationMs: number;
  lastSweepTargets: number;
  /** File descriptors the collector holds open; null when it does not say. */
  collectorOpenFds: number | null;
  /** Samples that failed for a reason other than the process being gone. */
  collectionErrors: number;
  /** Samples abandoned after their timeout (also counted in collectionErrors). */
  collectionTimeouts: number;
  /** Processes seen to exit (or have their pid reused) while tracked. */
  processExits: number;
  /** Snapshots dropped across all subscribers. */
  droppedSnapshots: number;
  subscribers: number;
  services: number;
}

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
