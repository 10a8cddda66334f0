import type { AttributeValue } from '@opentelemetry/api';
import type { HistogramValue } from '../metrics/metric-table.js';
import { sanitizeName } from '../metrics/prometheus-names.js';

/**
 * The pieces of the Prometheus text formats that every writer of ours shares:
 * the 0.0.4 text format and OpenMetrics 1.0, escaping, numbers, target_info,
 * and which of the two a scraper asked for.
 */

/** `text`: the Prometheus text format 0.0.4; `openmetrics`: OpenMetrics 1.0 text. */
export type ExpositionFormat = 'text' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** Backslash, double quote and newline escaped, as label values require. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

/** HELP text: OpenMetrics escapes double quotes too, the 0.0.4 format only backslash and newline. */
export function escapeHelp(text: string, format: ExpositionFormat = 'text'): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? escaped.replace(/"/g, '\\"') : escaped;
}

/** `name="value"`: the name sanitised, a value other than a string JSON-encoded (arrays, as the spec says). */
export function label(name: string, value: AttributeValue): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `${sanitizeName(name)}="${escapeLabelValue(text)}"`;
}

/** Numbers as Prometheus reads them: integers plainly, +Inf/-Inf/NaN spelled out. */
export function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** One sample line; `timestamp` is the text after the value (' 1700000000000'), if any. */
export function sample(name: string, labels: string, value: number, timestamp = ''): string {
  return labels === '' ? `${name} ${formatValue(value)}${timestamp}\n` : `${name}{${labels}} ${formatValue(value)}${timestamp}\n`;
}

/** A histogram's series: cumulative `_bucket`s up to `le="+Inf"`, then `_sum` and `_count`. */
export function histogramSamples(name: string, labels: string, histogram: HistogramValue, timestamp = ''): string {
  const prefix = labels === '' ? '' : `${labels},`;
  let text = '';
  let cumulative = 0;
  histogram.counts.forEach((count, i) => {
    cumulative += count;
    const bound = histogram.boundaries[i];
    // An explicit +Inf boundary already closed the buckets.
    if (bound === undefined && histogram.boundaries[i - 1] === Infinity) return;
    const le = bound === undefined || bound === Infinity ? '+Inf' : formatValue(bound);
    text += `${name}_bucket{${prefix}le="${le}"} ${cumulative}${timestamp}\n`;
  });
  return text + sample(`${name}_sum`, labels, histogram.sum, timestamp) + sample(`${name}_count`, labels, histogram.count, timestamp);
}

/**
 * The resource as `target_info`: a gauge of 1 in the 0.0.4 format, an info
 * family named `target` in OpenMetrics. Nothing for a resource with no
 * attributes.
 */
export function targetInfoText(attributes: Readonly<Record<string, AttributeValue | undefined>>, format: ExpositionFormat): string {
  const labels = Object.entries(attributes)
    .filter((entry): entry is [string, AttributeValue] => entry[1] !== undefined)
    .map(([name, value]) => label(name, value))
    .join(',');
  if (labels === '') return '';
  const family = format === 'openmetrics' ? 'target' : 'target_info';
  const type = format === 'openmetrics' ? 'info' : 'gauge';
  return `# HELP ${family} Target metadata\n# TYPE ${family} ${type}\ntarget_info{${labels}} 1\n`;
}

/** The q value of one media range of an Accept header (1 when absent, 0 when unreadable). */
function quality(params: readonly string[]): number {
  const q = params.find((p) => p.startsWith('q='));
  if (q === undefined) return 1;
  const value = Number(q.slice(2));
  return Number.isFinite(value) ? value : 0;
}

/**
 * Which format a scraper's Accept header asks for: OpenMetrics 1.0 when it
 * names `application/openmetrics-text` (version 1.0.0 or none) with a q at
 * least that of anything else it takes, else the 0.0.4 text format, which
 * every scraper reads.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'text';
  let openmetrics = 0;
  let other = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...rest] = range.split(';').map((part) => part.trim().toLowerCase());
    const params = rest.map((p) => p.replace(/\s+/g, ''));
    const q = quality(params);
    if (type === 'application/openmetrics-text') {
      const version = params.find((p) => p.startsWith('version='));
      if (version === undefined || version === 'version=1.0.0') openmetrics = Math.max(openmetrics, q);
    } else if (type !== '') {
      other = Math.max(other, q);
    }
  }
  return openmetrics > 0 && openmetrics >= other ? 'openmetrics' : 'text';
}
