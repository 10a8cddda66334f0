import type { ProcessMetrics } from '../core/metrics.js';
import {
  METRICS,
  hasLiveProcess,
  identityOf,
  type Identity,
  type MetricRow,
  type Read,
  type ReadContext,
  type HistogramValue,
  type Reading,
  type TableOptions,
  type TrackerView,
} from './metric-table.js';
import { prometheusName } from './prometheus-names.js';

type Snapshot = Readonly<ProcessMetrics>;

/** A table row made ready for walking: identity, names and readers worked out once. */
export interface CompiledRow<T> {
  /** Position in METRICS; a row's data points are grouped under it. */
  readonly index: number;
  readonly row: MetricRow;
  readonly identity: Identity;
  readonly prometheusName: string;
  /** The row's own dimension attribute (cpu.mode, disk.io.direction, ...), if it has one. */
  readonly dimension: string | undefined;
  readonly single: Read<T> | undefined;
  readonly values: ReadonlyArray<readonly [string, Read<T>]> | undefined;
  readonly entries: ((subject: T) => Iterable<readonly [string, number]>) | undefined;
  readonly histogram: ((subject: T) => HistogramValue | null) | undefined;
  readonly int: boolean;
}

/** One data point: the row, the value of its dimension (undefined without one), the number or histogram. */
export type PointVisitor<T> = (row: CompiledRow<T>, dimensionValue: string | undefined, value: number | HistogramValue) => void;

function compile<T>(row: MetricRow, index: number, reading: Reading<T>, options: TableOptions): CompiledRow<T> {
  const base = {
    index,
    row,
    identity: identityOf(row, options),
    prometheusName: prometheusName(row.name, row.unit, row.kind),
    int: row.valueType === 'int',
  };
  const none = { dimension: undefined, single: undefined, values: undefined, entries: undefined, histogram: undefined };
  if (typeof reading === 'function') return { ...base, ...none, single: reading };
  if ('histogram' in reading) return { ...base, ...none, histogram: reading.histogram };
  if ('values' in reading) return { ...base, ...none, dimension: reading.attribute, values: Object.entries(reading.values) };
  return { ...base, ...none, dimension: reading.attribute, entries: reading.entries };
}

/** The table, split by what each row reads. */
export interface CompiledTable {
  readonly rows: readonly MetricRow[];
  readonly services: ReadonlyArray<CompiledRow<Snapshot>>;
  readonly tracker: ReadonlyArray<CompiledRow<TrackerView>>;
}

export function compileTable(options: TableOptions = {}, rows: readonly MetricRow[] = METRICS): CompiledTable {
  const services: CompiledRow<Snapshot>[] = [];
  const tracker: CompiledRow<TrackerView>[] = [];
  rows.forEach((row, index) => {
    if (row.subject === 'tracker') tracker.push(compile(row, index, row.read, options));
    else services.push(compile(row, index, row.read, options));
  });
  return { rows, services, tracker };
}

/** A number data point, unless unknown: left out then, never reported as 0. */
function emit<T>(row: CompiledRow<T>, dimensionValue: string | undefined, value: number | null, visit: PointVisitor<T>): void {
  if (value === null || !Number.isFinite(value)) return;
  visit(row, dimensionValue, row.int ? Math.trunc(value) : value);
}

// Runs for every row of every service at each scrape: no closure made per call.
function visitRow<T>(row: CompiledRow<T>, subject: T, context: ReadContext, visit: PointVisitor<T>): void {
  if (row.single !== undefined) emit(row, undefined, row.single(subject, context), visit);
  else if (row.values !== undefined) for (const [value, read] of row.values) emit(row, value, read(subject, context), visit);
  else if (row.entries !== undefined) for (const [value, count] of row.entries(subject)) emit(row, value, count, visit);
  else if (row.histogram !== undefined) {
    const histogram = row.histogram(subject);
    if (histogram !== null) visit(row, undefined, histogram);
  }
}

/** The data points of one row for one service: none for a `process` row without a live process. */
export function visitServiceRow(row: CompiledRow<Snapshot>, snapshot: Snapshot, context: ReadContext, visit: PointVisitor<Snapshot>): void {
  if (row.row.subject === 'process' && !hasLiveProcess(snapshot)) return;
  visitRow(row, snapshot, context, visit);
}

export function visitTrackerRow(
  row: CompiledRow<TrackerView>,
  view: TrackerView,
  context: ReadContext,
  visit: PointVisitor<TrackerView>,
): void {
  visitRow(row, view, context, visit);
}

/** Every data point of one service: `process` rows only while it has a live process. */
export function visitSnapshot(table: CompiledTable, snapshot: Snapshot, context: ReadContext, visit: PointVisitor<Snapshot>): void {
  const live = hasLiveProcess(snapshot);
  for (const row of table.services) {
    if (row.row.subject === 'process' && !live) continue;
    visitRow(row, snapshot, context, visit);
  }
}

/** Every data point of the tracker's own metrics. */
export function visitTracker(table: CompiledTable, view: TrackerView, context: ReadContext, visit: PointVisitor<TrackerView>): void {
  for (const row of table.tracker) visitRow(row, view, context, visit);
}
