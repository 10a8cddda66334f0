import { METRICS, type InstrumentKind } from './metric-table.js';
import { ATTR_PROCMETRICS_HEALTHY, ATTR_PROCMETRICS_STATE, ATTR_SERVICE_NAME } from './semconv.js';

/**
 * OpenTelemetry names as Prometheus sees them, by the OTel "Prometheus and
 * OpenMetrics compatibility" rules that the Collector's Prometheus exporter and
 * Prometheus's own OTLP receiver also follow, so that a query written against
 * our endpoint works on the Collector path too:
 * - characters other than [a-zA-Z0-9_] become `_`, runs of `_` collapse;
 * - the unit, in words, is appended unless the name already has it: `By` ->
 *   `_bytes`, `s` -> `_seconds`, `1` -> `_ratio` (gauges only); annotations in
 *   braces (`{thread}`) are dropped; `a/b` becomes `a_per_b`;
 * - monotonic sums (counters) end in `_total`.
 */

const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  bit: 'bits',
  Hz: 'hertz',
  Cel: 'celsius',
  V: 'volts',
  W: 'watts',
  '%': 'percent',
};

const PER_UNIT_WORDS: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day' };

/** `[a-zA-Z0-9_]` only, runs of `_` collapsed, never starting with a digit. */
export function sanitizeName(name: string): string {
  const clean = name.replace(/[^a-zA-Z0-9_]+/g, '_').replace(/_{2,}/g, '_');
  return /^[0-9]/.test(clean) ? `_${clean}` : clean;
}

/** The unit as a name suffix ('' for none): annotations dropped, symbols in words. */
export function unitSuffix(unit: string, kind: InstrumentKind): string {
  const bare = unit.replace(/\{[^}]*\}/g, '').trim();
  if (bare === '') return '';
  if (bare === '1') return kind === 'gauge' ? 'ratio' : '';
  const [main = '', per] = bare.split('/', 2);
  const words = [main === '' ? '' : (UNIT_WORDS[main] ?? main)];
  if (per !== undefined && per !== '') words.push('per', PER_UNIT_WORDS[per] ?? UNIT_WORDS[per] ?? per);
  return sanitizeName(words.filter((w) => w !== '').join('_')).replace(/^_|_$/g, '');
}

/** The Prometheus metric family name of an OTel metric. */
export function prometheusName(name: string, unit: string, kind: InstrumentKind): string {
  let result = sanitizeName(name);
  const suffix = unitSuffix(unit, kind);
  if (suffix !== '' && !`_${result}_`.includes(`_${suffix}_`)) result += `_${suffix}`;
  if (kind === 'counter' && !result.endsWith('_total')) result += '_total';
  return result;
}

/** The Prometheus type of an instrument kind: monotonic sums are counters, non-monotonic ones gauges. */
export function prometheusType(kind: InstrumentKind): 'counter' | 'gauge' | 'histogram' {
  return kind === 'counter' ? 'counter' : kind === 'histogram' ? 'histogram' : 'gauge';
}

/**
 * Label names a service's extra labels may not take: the attributes procmetrics
 * emits itself (service.name, procmetrics.state, procmetrics.healthy and every
 * dimension of the metric table), as Prometheus sees them, and the names
 * Prometheus gives a meaning to (le, quantile, job, instance).
 */
export const RESERVED_LABEL_NAMES: ReadonlySet<string> = new Set([
  ...[ATTR_SERVICE_NAME, ATTR_PROCMETRICS_STATE, ATTR_PROCMETRICS_HEALTHY].map(sanitizeName),
  ...METRICS.flatMap((row) => (typeof row.read === 'object' && 'attribute' in row.read ? [sanitizeName(row.read.attribute)] : [])),
  'le',
  'quantile',
  'job',
  'instance',
]);
