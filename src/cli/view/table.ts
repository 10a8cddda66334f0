import type { ProcessMetrics } from '../../core/metrics.js';
import type { OtlpExportStatus } from '../../otel/readers.js';
import { formatDuration } from '../options/duration.js';
import { formatBytes, formatCount, formatHealth, formatPercent } from './format.js';
import { sparkline } from './sparkline.js';

export interface ViewModel {
  snapshots: readonly ProcessMetrics[];
  /** CPU percent readings per service, oldest first. */
  history: (serviceName: string) => readonly number[];
  /** Terminal columns: whole columns are left out from the right to fit, text lines are cut. */
  width: number;
  intervalMs: number;
  /** The Prometheus scrape URL, or null when the endpoint is off. */
  metricsUrl: string | null;
  /** Where the snapshots come from, when not from this process (`top`): shown in place of metricsUrl. */
  source?: string;
  /** How the OTLP push is doing; absent when OTLP is off. */
  otlp?: OtlpExportStatus;
  /** Least width of each column, in table order (see columnWidths): columns never narrow between frames. */
  minWidths?: readonly number[];
  /** Printed under the table, e.g. how to quit. */
  footer?: string;
}

interface Column {
  title: string;
  align: 'left' | 'right';
  cell: (snapshot: ProcessMetrics) => string;
}

const isUp = (s: ProcessMetrics): boolean => s.pid > 0;
/** `<sep>64.0 MiB` for a service whose cgroup has a memory limit; '' otherwise. */
const limitOf = (s: ProcessMetrics, separator: string): string =>
  s.cgroup?.memoryLimitBytes == null ? '' : `${separator}${formatBytes(s.cgroup.memoryLimitBytes)}`;

const COLUMNS: readonly Column[] = [
  { title: 'SERVICE', align: 'left', cell: (s) => s.serviceName },
  { title: 'PID', align: 'right', cell: (s) => (isUp(s) ? String(s.pid) : '-') },
  { title: 'STATE', align: 'left', cell: (s) => s.state },
  { title: 'HEALTH', align: 'left', cell: (s) => formatHealth(s.healthy, isUp(s)) },
  { title: 'CPU%', align: 'right', cell: (s) => (isUp(s) ? formatPercent(s.cpu.usagePercent) : '-') },
  { title: 'RSS', align: 'right', cell: (s) => (isUp(s) ? formatBytes(s.memory.rss) + limitOf(s, ' / ') : '-') },
  { title: 'THREADS', align: 'right', cell: (s) => formatCount(s.numThreads, isUp(s)) },
  { title: 'FDS', align: 'right', cell: (s) => formatCount(s.numFDs, isUp(s)) },
  { title: 'UPTIME', align: 'right', cell: (s) => (isUp(s) ? formatDuration(s.uptime) : '-') },
  { title: 'RESTARTS', align: 'right', cell: (s) => String(s.restartCount) },
];

const GAP = '  ';
const SPARK_TITLE = 'CPU HISTORY';
const SHORT_SPARK_TITLE = 'CPU';
const MAX_SPARK_WIDTH = 40;
/** Narrower than this, a sparkline says nothing; the column is left out. */
const MIN_SPARK_WIDTH = 6;

/**
 * The width of each column for these rows: its title, its widest cell, and
 * at least `minWidths` (the widths of earlier frames), so a table redrawn
 * every second does not jitter as values grow and shrink.
 */
export function columnWidths(snapshots: readonly ProcessMetrics[], minWidths: readonly number[] = []): number[] {
  return COLUMNS.map((column, i) => Math.max(column.title.length, minWidths[i] ?? 0, ...snapshots.map((s) => column.cell(s).length)));
}

/**
 * The live view as plain text, one string with `\n` between lines and no
 * terminal control codes: the caller decides how to put it on screen.
 */
export function renderTable(model: ViewModel): string {
  const rows = model.snapshots.map((snapshot) => COLUMNS.map((column) => column.cell(snapshot)));
  const widths = columnWidths(model.snapshots, model.minWidths);
  // Whole columns, left to right, while they fit; the service name always.
  let shown = 1;
  let tableWidth = widths[0] ?? 0;
  while (shown < COLUMNS.length && tableWidth + GAP.length + (widths[shown] ?? 0) <= model.width) {
    tableWidth += GAP.length + (widths[shown] ?? 0);
    shown += 1;
  }
  const sparkWidth = shown === COLUMNS.length ? Math.min(MAX_SPARK_WIDTH, model.width - tableWidth - GAP.length) : 0;
  const withSpark = sparkWidth >= MIN_SPARK_WIDTH;

  const line = (cells: readonly string[], spark: string): string => {
    const padded = cells
      .slice(0, shown)
      .map((cell, i) => (COLUMNS[i]?.align === 'right' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)));
    // Only a service name wider than the terminal is cut: nothing else is left to drop.
    return cut(withSpark ? padded.join(GAP) + GAP + spark : padded.join(GAP).trimEnd(), model.width);
  };

  const metrics =
    model.source !== undefined
      ? `from ${model.source}`
      : model.metricsUrl === null
        ? 'metrics endpoint off'
        : `metrics ${model.metricsUrl}`;
  const otlp = model.otlp === undefined ? '' : `  otlp ${model.otlp.destination} ${otlpState(model.otlp)}`;
  const count = `${model.snapshots.length} service${model.snapshots.length === 1 ? '' : 's'}`;
  const header = [`procmetrics  ${count}  every ${formatDuration(model.intervalMs)}  ${metrics}${otlp}`];
  if (model.otlp !== undefined && otlpState(model.otlp) === 'failing') header.push(describeOtlpFailure(model.otlp));
  const text = (lines: readonly string[]): string[] => lines.map((t) => ellipsize(t, model.width));
  const lines = [
    ...text(header),
    '',
    line(
      COLUMNS.map((column) => column.title),
      sparkWidth >= SPARK_TITLE.length ? SPARK_TITLE : SHORT_SPARK_TITLE,
    ),
    ...model.snapshots.map((snapshot, i) =>
      line(rows[i] ?? [], withSpark ? sparkline(model.history(snapshot.serviceName), sparkWidth) : ''),
    ),
  ];
  const errors = model.snapshots.flatMap((s) => [
    ...(s.lastError !== '' ? [`${s.serviceName}: ${s.lastError}`] : []),
    ...(s.healthError !== '' ? [`${s.serviceName}: health check: ${s.healthError}`] : []),
  ]);
  if (errors.length > 0) lines.push('', ...text(errors));
  if (model.footer !== undefined) lines.push('', ...text([model.footer]));
  return lines.join('\n');
}

/** `ok` once the last push went through, `failing` while the last one failed, `waiting` before the first. */
function otlpState(status: OtlpExportStatus): 'ok' | 'failing' | 'waiting' {
  if (status.lastErrorAt !== null && (status.lastSuccessAt === null || status.lastErrorAt >= status.lastSuccessAt)) {
    return 'failing';
  }
  return status.lastSuccessAt === null ? 'waiting' : 'ok';
}

/** `otlp: 3 pushes failed, the last at 10:00:05: 14 UNAVAILABLE: No connection established`. */
function describeOtlpFailure(status: OtlpExportStatus): string {
  const times = status.failures === 1 ? '1 push failed' : `${status.failures} pushes failed`;
  const at = status.lastErrorAt === null ? '' : `, the last at ${new Date(status.lastErrorAt).toTimeString().slice(0, 8)}`;
  // An exporter's message is the network's words: one line, no control characters.
  const error = (status.lastError ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return `otlp: ${times}${at}: ${error}`;
}

/** Cuts to `width` code points (the table is ASCII plus one-column block characters). */
function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : chars.slice(0, Math.max(0, width)).join('');
}

/** A line of text cut to `width`, ending in `…` when something was left out. */
function ellipsize(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}
