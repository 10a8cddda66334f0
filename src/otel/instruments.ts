import { availableParallelism } from 'node:os';
import {
  ValueType,
  type Attributes,
  type BatchObservableResult,
  type Meter,
  type MeterProvider,
  type Observable,
} from '@opentelemetry/api';
import { OutOfRangeError, describeValue } from '../domain/errors.js';
import type { ProcessMetrics } from '../domain/metrics.js';
import type { TrackerStats } from '../tracker/types.js';
import { AttributeSets } from './attribute-sets.js';
import { ObservedSeries, registerObservedSeries } from './live-series.js';
import { METRICS, type MetricRow, type ReadContext, type Reading, type TrackerView } from './metric-table.js';
import { PACKAGE_VERSION } from './version.js';

/** The instrumentation scope of every procmetrics instrument. */
export const METER_NAME = 'procmetrics';

/** What the instruments read from. The Tracker implements it. */
export interface SnapshotSource {
  /** Visits the tracker's cached snapshots (every tracked service, any state); no I/O, no copies: do not mutate. */
  forEachSnapshot(visit: (snapshot: Readonly<ProcessMetrics>) => void): void;
  stats(): TrackerStats;
  /** Collector read failures by kind, e.g. 'io:EACCES' -> n. */
  collectorErrorCounts(): ReadonlyMap<string, number>;
}

export interface InstrumentOptions {
  /**
   * CPUs assumed for process.cpu.utilization when a snapshot does not know how
   * many its process may use (default: os.availableParallelism()).
   */
  fallbackCpus?: number;
}

type Instrument = Observable<Attributes>;
type Emit = (value: number, attributes: Attributes) => void;

function createInstrument(meter: Meter, row: MetricRow): Instrument {
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
  }
}

/** Emits the data points of one reading; unknown (null) and non-finite values are left out. */
function observeReading<T>(
  reading: Reading<T>,
  subject: T,
  context: ReadContext,
  base: Attributes,
  sets: AttributeSets,
  emit: Emit,
): void {
  const emitIfKnown = (value: number | null, attributes: Attributes): void => {
    if (value !== null && Number.isFinite(value)) emit(value, attributes);
  };
  if (typeof reading === 'function') {
    emitIfKnown(reading(subject, context), base);
  } else if ('values' in reading) {
    for (const [value, read] of Object.entries(reading.values)) {
      emitIfKnown(read(subject, context), sets.variant(base, reading.attribute, value));
    }
  } else {
    for (const [value, count] of reading.entries(subject)) {
      emitIfKnown(count, sets.variant(base, reading.attribute, value));
    }
  }
}

function resolveFallbackCpus(value: number | undefined): number {
  if (value === undefined) return availableParallelism();
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new OutOfRangeError(`options.fallbackCpus must be a positive finite number, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Registers every procmetrics instrument on `meterProvider` with one batch
 * observable callback that reads the source's cached snapshots (no I/O, so a
 * scrape costs the same however often it comes). Returns the disposer, which
 * removes the callback; the instruments stay registered (the API cannot remove
 * them) but report nothing.
 */
export function instrumentTracker(
  source: SnapshotSource,
  meterProvider: MeterProvider,
  options: InstrumentOptions = {},
): () => void {
  const context: ReadContext = { fallbackCpus: resolveFallbackCpus(options.fallbackCpus) };
  const meter = meterProvider.getMeter(METER_NAME, PACKAGE_VERSION);
  const rows = METRICS.map((row) => ({ row, instrument: createInstrument(meter, row) }));
  const observed = new ObservedSeries();
  const sets = new AttributeSets();

  const batch = (result: BatchObservableResult): void => {
    observed.begin();
    const observers = rows.map(({ row, instrument }) => {
      const emit: Emit = (value, attributes) => {
        result.observe(instrument, row.valueType === 'int' ? Math.trunc(value) : value, attributes);
        observed.add(row.name, attributes);
      };
      return { row, emit };
    });
    sets.begin();
    source.forEachSnapshot((snapshot) => {
      const { perProcess, perService } = sets.forService(snapshot);
      for (const { row, emit } of observers) {
        if (row.subject === 'tracker') continue;
        const base = row.subject === 'process' ? perProcess : perService;
        if (base !== undefined) observeReading(row.read, snapshot, context, base, sets, emit);
      }
    });
    const view: TrackerView = { stats: source.stats(), errorCounts: source.collectorErrorCounts() };
    for (const { row, emit } of observers) {
      if (row.subject === 'tracker') observeReading(row.read, view, context, sets.none, sets, emit);
    }
    sets.commit();
    observed.commit();
  };

  const instruments = rows.map((r) => r.instrument);
  meter.addBatchObservableCallback(batch, instruments);
  const unregister = registerObservedSeries(meterProvider, observed);
  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    meter.removeBatchObservableCallback(batch, instruments);
    unregister();
  };
}
