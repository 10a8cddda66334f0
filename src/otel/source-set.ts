import type { ProcessMetrics } from '../core/metrics.js';
import type { SnapshotSource } from '../metrics/sources.js';
import { combineStats, emptyStats } from '../core/stats.js';
import type { TrackerView } from '../metrics/metric-table.js';

/** What one collection reads: every service once, and the trackers' own figures. */
export interface Gathered {
  readonly snapshots: ReadonlyArray<Readonly<ProcessMetrics>>;
  readonly view: TrackerView;
}

/** A source's last state, kept after it was removed until every consumer has exported it once. */
interface Retired {
  readonly snapshots: ReadonlyArray<Readonly<ProcessMetrics>>;
  readonly view: TrackerView;
  readonly unseen: Set<object>;
}

/** Closed trackers whose last state is still owed to a consumer that never collects again are let go past this. */
const MAX_RETIRED = 16;

function viewOf(source: SnapshotSource): TrackerView {
  return { stats: source.stats(), errorCounts: source.collectorErrorCounts() };
}

/** Several trackers on one pipeline report as one. */
function combineViews(views: readonly TrackerView[]): TrackerView {
  if (views.length === 1) return views[0] as TrackerView;
  const errorCounts = new Map<string, number>();
  for (const view of views) {
    for (const [kind, count] of view.errorCounts) errorCounts.set(kind, (errorCounts.get(kind) ?? 0) + count);
  }
  return { stats: views.length === 0 ? emptyStats() : combineStats(views.map((v) => v.stats)), errorCounts };
}

/**
 * The trackers that feed one pipeline of ours. Each consumer (the Prometheus
 * endpoint, an OTLP reader) gathers from it on every collection. A service
 * name seen twice (two trackers, or a closed tracker and a live one) is
 * reported once, live sources first, so no series is ever emitted twice.
 *
 * Removing a source keeps its final state for one more collection of every
 * consumer: the states a supervisor sets on shutdown (stopped) reach the
 * backend in the export that runs as the pipeline shuts down.
 */
export class SourceSet {
  readonly #live = new Set<SnapshotSource>();
  readonly #retired: Retired[] = [];
  readonly #consumers = new Set<object>();
  /** Failed exports and collections of the pipeline, by exporter; every exporter of the pipeline from 0. */
  readonly #exportFailures = new Map<string, number>();

  /** The pipeline's exporters, each reported from 0 failures on. */
  exporters(names: readonly string[]): void {
    for (const name of names) if (!this.#exportFailures.has(name)) this.#exportFailures.set(name, 0);
  }

  countExportFailure(exporter: string): void {
    this.#exportFailures.set(exporter, (this.#exportFailures.get(exporter) ?? 0) + 1);
  }

  /** Adds a source; the returned function removes it (idempotent). */
  add(source: SnapshotSource): () => void {
    this.#live.add(source);
    return () => {
      if (!this.#live.delete(source)) return;
      if (this.#consumers.size === 0) return;
      const snapshots: Readonly<ProcessMetrics>[] = [];
      source.forEachSnapshot((snapshot) => snapshots.push(snapshot));
      this.#retired.push({ snapshots, view: viewOf(source), unseen: new Set(this.#consumers) });
      if (this.#retired.length > MAX_RETIRED) this.#retired.shift();
    };
  }

  /** Registers a consumer; it gets every retired source's last state once. */
  consumer(): object {
    const token = {};
    this.#consumers.add(token);
    return token;
  }

  get size(): number {
    return this.#live.size;
  }

  gather(consumer: object): Gathered {
    const names = new Set<string>();
    const snapshots: Readonly<ProcessMetrics>[] = [];
    const views: TrackerView[] = [];
    const take = (snapshot: Readonly<ProcessMetrics>): void => {
      if (names.has(snapshot.serviceName)) return;
      names.add(snapshot.serviceName);
      snapshots.push(snapshot);
    };
    for (const source of this.#live) {
      source.forEachSnapshot(take);
      views.push(viewOf(source));
    }
    for (let i = 0; i < this.#retired.length; i++) {
      const retired = this.#retired[i] as Retired;
      if (!retired.unseen.delete(consumer)) continue;
      retired.snapshots.forEach(take);
      views.push(retired.view);
      if (retired.unseen.size === 0) this.#retired.splice(i--, 1);
    }
    const view = combineViews(views);
    return { snapshots, view: this.#exportFailures.size > 0 ? { ...view, exportFailures: new Map(this.#exportFailures) } : view };
  }
}
