import { availableParallelism } from 'node:os';
import { ValueType, type BatchObservableResult, type Meter, type MeterProvider, type Observable } from '@opentelemetry/api';
import { OutOfRangeError, describeValue } from '../core/errors.js';
import { validateOptionalBoolean } from '../core/validate.js';
import type { ProcessMetrics } from '../core/metrics.js';
import { AttributeSets, type ServiceSets } from './attribute-sets.js';
import { METER_NAME } from './meter.js';
import type { HistogramValue, MetricRow, ReadContext, TableOptions, TrackerView } from './metric-table.js';
import { isSnapshotPipeline, type SnapshotSource } from './sources.js';
import { PACKAGE_VERSION } from './version.js';
import { compileTable, visitSnapshot, visitTracker, type CompiledRow } from './walk.js';

export { METER_NAME } from './meter.js';
export type { SnapshotSource } from './sources.js';

export interface InstrumentOptions {
  /**
   * CPUs assumed for process.cpu.utilization when a snapshot does not know how
   * many its process may use (default: os.availableParallelism()).
   */
  fallbackCpus?: number;
  /**
   * Also put procmetrics.state and procmetrics.healthy on the gauges of a live
   * process (default false). Every change of state or health then starts new
   * gauge series: a `for:` on them restarts and queries must sum them away.
   * A provider from `startTelemetry` follows that pipeline's own setting.
   */
  stateAttributes?: boolean;
}

type Snapshot = Readonly<ProcessMetrics>;

/** An observable instrument per row; none for a histogram, which the API has no observable form of. */
function createInstrument(meter: Meter, row: MetricRow): Observable | undefined {
  const options = {
    description: row.description,
    unit: row.unit,
    valueType: row.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE,
  };
  switch (row.kind) {
    case 'counter':
      return meter.createObservableCounter(row.name, options);
    case 'updowncounter':
      return meter.createObservableUpDownCounter(row.name, options);
    case 'gauge':
      return meter.createObservableGauge(row.name, options);
    case 'histogram':
      return undefined;
  }
}

export function resolveFallbackCpus(value: number | undefined): number {
  if (value === undefined) return availableParallelism();
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new OutOfRangeError(`options.fallbackCpus must be a positive finite number, got ${describeValue(value)}`);
  }
  return value;
}

/** The table options of `options`, checked: a typed error names a bad stateAttributes. */
export function resolveTableOptions(options: { stateAttributes?: unknown }): TableOptions {
  validateOptionalBoolean(options.stateAttributes, 'options.stateAttributes');
  return { stateAttributes: options.stateAttributes === true };
}

/**
 * Makes a tracker's metrics reach `meterProvider`:
 * - a provider that `startTelemetry` built: the tracker joins that pipeline,
 *   whose Prometheus writer and OTLP producer read its snapshots directly;
 * - any other provider (the application's own SDK): observable instruments,
 *   one per table row, observed from the cached snapshots in one batch
 *   callback, so a collection does no I/O. The SDK keeps every attribute set it
 *   has seen (and exports stale ones at their last value); our identity rule
 *   bounds them to one per service and dimension value (times states x
 *   health with `stateAttributes`), with no pid among them.
 * Returns the disposer: it leaves the pipeline, or removes the callback (the
 * API cannot remove instruments; they report nothing after).
 */
export function instrumentTracker(source: SnapshotSource, meterProvider: MeterProvider, options: InstrumentOptions = {}): () => void {
  const fallbackCpus = resolveFallbackCpus(options.fallbackCpus);
  const tableOptions = resolveTableOptions(options);
  if (isSnapshotPipeline(meterProvider)) return meterProvider.addSnapshotSource(source);

  const context: ReadContext = { fallbackCpus };
  const table = compileTable(tableOptions);
  const meter = meterProvider.getMeter(METER_NAME, PACKAGE_VERSION);
  const byRow = table.rows.map((row) => createInstrument(meter, row));
  const instruments = byRow.filter((instrument): instrument is Observable => instrument !== undefined);
  const sets = new AttributeSets(() => undefined);

  const batch = (result: BatchObservableResult): void => {
    let current: ServiceSets<undefined> | undefined;
    const onService = (row: CompiledRow<Snapshot>, dimensionValue: string | undefined, value: number | HistogramValue): void => {
      const instrument = byRow[row.index];
      if (instrument === undefined || typeof value !== 'number') return;
      result.observe(instrument, value, sets.pointOf(current as ServiceSets<undefined>, row.identity, row.dimension, dimensionValue));
    };
    const onTracker = (row: CompiledRow<TrackerView>, dimensionValue: string | undefined, value: number | HistogramValue): void => {
      const instrument = byRow[row.index];
      if (instrument === undefined || typeof value !== 'number') return;
      result.observe(instrument, value, sets.trackerPoint(row.dimension, dimensionValue));
    };
    sets.begin();
    source.forEachSnapshot((snapshot) => {
      current = sets.forService(snapshot);
      visitSnapshot(table, snapshot, context, onService);
    });
    visitTracker(table, { stats: source.stats(), errorCounts: source.collectorErrorCounts() }, context, onTracker);
    sets.sweep();
  };

  meter.addBatchObservableCallback(batch, instruments);
  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    meter.removeBatchObservableCallback(batch, instruments);
  };
}
