import type { ProcessMetrics } from '../core/metrics.js';
import type { TrackerStats } from '../core/stats.js';

/** What the exporters read from. The Tracker implements it. */
export interface SnapshotSource {
  /** Visits the cached snapshots (every tracked service, any state); no I/O, no copies: do not mutate. */
  forEachSnapshot(visit: (snapshot: Readonly<ProcessMetrics>) => void): void;
  stats(): TrackerStats;
  /** Collector read failures by kind, e.g. 'io:EACCES' -> n. */
  collectorErrorCounts(): ReadonlyMap<string, number>;
}

/**
 * A MeterProvider that reads trackers' snapshots itself rather than through
 * observable instruments: the one `startTelemetry` returns. `instrumentTracker`
 * joins a tracker to it with `addSnapshotSource`; any other provider gets
 * instruments.
 */
export interface SnapshotPipeline {
  /** Adds a source to the pipeline; the returned function takes it out again (idempotent). */
  addSnapshotSource(source: SnapshotSource): () => void;
}

export function isSnapshotPipeline(provider: object): provider is SnapshotPipeline {
  return typeof (provider as Partial<SnapshotPipeline>).addSnapshotSource === 'function';
}
