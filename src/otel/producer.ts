import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { emptyResource } from '@opentelemetry/resources';
import type { ProcessMetrics } from '../core/metrics.js';
import { METER_NAME } from '../metrics/meter.js';
import type { HistogramValue, ReadContext, TrackerView } from '../metrics/metric-table.js';
import { AttributeSets, type ServiceSets } from '../metrics/attribute-sets.js';
import type { Gathered, SourceSet } from './source-set.js';
import { PACKAGE_VERSION } from '../metrics/version.js';
import { visitSnapshot, visitTracker, type CompiledRow, type CompiledTable } from '../metrics/walk.js';

/**
 * OTLP data built straight from the trackers' snapshots through the metric
 * table, for the push readers of our pipelines and for a reader of the user's
 * own (`metricProducers`). Like the Prometheus writer it stores no attribute
 * sets: each export holds exactly the live services, and what is cached per
 * service (its attribute objects, delta baselines) goes with it.
 *
 * Cumulative sums of a process start at the process's start time, so a
 * restart is a proper counter reset for any backend.
 */

type Snapshot = Readonly<ProcessMetrics>;

export type ProducerTemporality = 'cumulative' | 'delta';

function toHrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** The previous value of one delta series, and the start it was counted from. */
interface DeltaBaseline {
  value: number | HistogramValue;
  time: HrTime;
  origin: number;
}

type PointValue = number | Histogram;

/**
 * The change from `previous` to `value`, or null when it went down (a reset:
 * a restarted process, counted again from zero).
 */
function changeSince(previous: number | HistogramValue, value: number | HistogramValue): number | HistogramValue | null {
  if (typeof value === 'number' || typeof previous === 'number') {
    if (typeof value !== 'number' || typeof previous !== 'number') return null;
    return value >= previous ? value - previous : null;
  }
  if (value.count < previous.count || value.counts.length !== previous.counts.length) return null;
  return {
    boundaries: value.boundaries,
    counts: value.counts.map((count, i) => count - (previous.counts[i] ?? 0)),
    sum: value.sum - previous.sum,
    count: value.count - previous.count,
  };
}

function toPointValue(value: number | HistogramValue): PointValue {
  if (typeof value === 'number') return value;
  return { buckets: { boundaries: [...value.boundaries], counts: [...value.counts] }, sum: value.sum, count: value.count };
}

/** What the producer keeps per service beside its attributes, while it is tracked. */
interface ServiceExtra {
  readonly firstSeen: HrTime;
  readonly deltas: Map<string, DeltaBaseline>;
}

export interface ProducerOptions {
  /** `delta` reports monotonic sums as the change since the previous export (default cumulative). */
  temporality?: ProducerTemporality;
  /** The sources `gather` reads, when a reader of this producer should count its failures there. */
  sources?: SourceSet;
}

/** Builds one export's data from what `gather` returns; see the file comment. */
export class SnapshotMetricProducer implements MetricProducer {
  readonly #sets = new AttributeSets<ServiceExtra>(() => ({ firstSeen: toHrTime(Date.now()), deltas: new Map() }));
  readonly #trackerDeltas = new Map<string, DeltaBaseline>();
  readonly #created: HrTime = toHrTime(Date.now());
  readonly #delta: boolean;
  /** Where a reader given this producer counts its failed exports (set by `createMetricProducer`). */
  readonly sources: SourceSet | undefined;
  constructor(
    private readonly table: CompiledTable,
    private readonly context: ReadContext,
    private readonly gather: () => Gathered,
    options: ProducerOptions = {},
  ) {
    this.#delta = options.temporality === 'delta';
    this.sources = options.sources;
  }

  async collect(): Promise<CollectionResult> {
    const endTime = toHrTime(Date.now());
    const points: DataPoint<PointValue>[][] = this.table.rows.map(() => []);
    const gathered = this.gather();
    let sets: ServiceSets<ServiceExtra> | undefined;
    let snapshot: Snapshot | undefined;

    const onService = (row: CompiledRow<Snapshot>, dimensionValue: string | undefined, value: number | HistogramValue): void => {
      const current = sets as ServiceSets<ServiceExtra>;
      const s = snapshot as Snapshot;
      const attributes = this.#sets.pointOf(current, row.identity, row.dimension, dimensionValue);
      const ofProcess = row.row.subject === 'process' && s.startTime > 0;
      const origin = ofProcess ? s.startTime : 0;
      const startTime = ofProcess ? toHrTime(s.startTime) : current.extra.firstSeen;
      const key = `${row.index}|${dimensionValue ?? ''}`;
      this.#push(points, row, attributes, value, startTime, endTime, origin, current.extra.deltas, key);
    };
    const onTracker = (row: CompiledRow<TrackerView>, dimensionValue: string | undefined, value: number | HistogramValue): void => {
      const attributes = this.#sets.trackerPoint(row.dimension, dimensionValue);
      const key = `${row.index}|${dimensionValue ?? ''}`;
      this.#push(points, row, attributes, value, this.#created, endTime, 0, this.#trackerDeltas, key);
    };

    this.#sets.begin();
    for (const s of gathered.snapshots) {
      snapshot = s;
      sets = this.#sets.forService(s);
      visitSnapshot(this.table, s, this.context, onService);
    }
    visitTracker(this.table, gathered.view, this.context, onTracker);
    this.#sets.sweep();

    const metrics: MetricData[] = [];
    this.table.rows.forEach((row, index) => {
      const dataPoints = points[index] as DataPoint<PointValue>[];
      if (dataPoints.length === 0) return;
      const descriptor = {
        name: row.name,
        description: row.description,
        unit: row.unit,
        valueType: row.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE,
      };
      const cumulative = AggregationTemporality.CUMULATIVE;
      if (row.kind === 'gauge') {
        metrics.push({
          descriptor,
          aggregationTemporality: cumulative,
          dataPointType: DataPointType.GAUGE,
          dataPoints: dataPoints as DataPoint<number>[],
        });
      } else if (row.kind === 'histogram') {
        metrics.push({
          descriptor,
          aggregationTemporality: this.#delta ? AggregationTemporality.DELTA : cumulative,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: dataPoints as DataPoint<Histogram>[],
        });
      } else {
        const monotonic = row.kind === 'counter';
        metrics.push({
          descriptor,
          aggregationTemporality: monotonic && this.#delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.SUM,
          isMonotonic: monotonic,
          dataPoints: dataPoints as DataPoint<number>[],
        });
      }
    });
    return {
      // A reader keeps its provider's Resource and takes only the scope metrics from a producer.
      resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: METER_NAME, version: PACKAGE_VERSION }, metrics }] },
      errors: [],
    };
  }

  #push<T>(
    points: DataPoint<PointValue>[][],
    row: CompiledRow<T>,
    attributes: Attributes,
    value: number | HistogramValue,
    startTime: HrTime,
    endTime: HrTime,
    origin: number,
    deltas: Map<string, DeltaBaseline>,
    deltaKey: string,
  ): void {
    let start = startTime;
    let reported = value;
    if (this.#delta && (row.row.kind === 'counter' || row.row.kind === 'histogram')) {
      const previous = deltas.get(deltaKey);
      // A new origin (a restarted process) or a value that went down is a reset: count from the new start.
      const change = previous !== undefined && previous.origin === origin ? changeSince(previous.value, value) : null;
      if (change !== null && previous !== undefined) {
        reported = change;
        start = previous.time;
      }
      deltas.set(deltaKey, { value, time: endTime, origin });
    }
    (points[row.index] as DataPoint<PointValue>[]).push({ startTime: start, endTime, attributes, value: toPointValue(reported) });
  }
}
