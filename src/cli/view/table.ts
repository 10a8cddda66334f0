import type { ProcessMetrics } from '../../domain/metrics.js';
import { formatDuration } from '../duration.js';
import { formatBytes, formatCount, formatHealth, formatPercent } from './format.js';
import { sparkline } from './sparkline.js';

export interface ViewModel {
  snapshots: readonly ProcessMetrics[];
  /** CPU percent readings per service, oldest first. */
  history: (serviceName: string) => readonly number[];
  /** Terminal columns; every line is cut to fit. */
  width: number;
  intervalMs: number;
  /** The Prometheus scrape URL, or null when the endpoint is off. */
  metricsUrl: string | null;
  /** Printed under the table, e.g. how to quit. */
  footer?: string;
}

interface Column {
  title: string;
  align: 'left' | 'right';
  cell: (snapshot: ProcessMetrics) => string;
}

const isUp = (s: ProcessMetrics): boolean => s.pid > 0;

const COLUMNS: readonly Column[] = [
  { title: 'SERVICE', align: 'left', cell: (s) => s.serviceName },
  { title: 'PID', align: 'right', cell: (s) => (isUp(s) ? String(s.pid) : '-') },
  { title: 'STATE', align: 'left', cell: (s) => s.state },
  { title: 'HEALTH', align: 'left', cell: (s) => formatHealth(s.healthy, isUp(s)) },
  { title: 'CPU%', align: 'right', cell: (s) => (isUp(s) ? formatPercent(s.cpu.usagePercent) : '-') },
  { title: 'RSS', align: 'right', cell: (s) => (isUp(s) ? formatBytes(s.memory.rss) : '-') },
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
 * The live view as plain text, one string with `\n` between lines and no
 * terminal control codes: the caller decides how to put it on screen.
 */
export function renderTable(model: ViewModel): string {
  const rows = model.snapshots.map((snapshot) => COLUMNS.map((column) => column.cell(snapshot)));
  const widths = COLUMNS.map((column, i) => Math.max(column.title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const tableWidth = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (widths.length - 1);
  const sparkWidth = Math.min(MAX_SPARK_WIDTH, model.width - tableWidth - GAP.length);
  const withSpark = sparkWidth >= MIN_SPARK_WIDTH;

  const line = (cells: readonly string[], spark: string): string => {
    const padded = cells.map((cell, i) =>
      COLUMNS[i]?.align === 'right' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
    );
    return withSpark ? padded.join(GAP) + GAP + spark : padded.join(GAP).trimEnd();
  };

  const metrics = model.metricsUrl === null ? 'metrics endpoint off' : `metrics ${model.metricsUrl}`;
  const count = `${model.snapshots.length} service${model.snapshots.length === 1 ? '' : 's'}`;
  const lines = [
    `procmetrics  ${count}  every ${formatDuration(model.intervalMs)}  ${metrics}`,
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
  if (errors.length > 0) lines.push('', ...errors);
  if (model.footer !== undefined) lines.push('', model.footer);
  return lines.map((text) => cut(text, model.width)).join('\n');
}

/** Cuts to `width` code points (the table is ASCII plus one-column block characters). */
function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : chars.slice(0, Math.max(0, width)).join('');
}
