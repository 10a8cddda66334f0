import { diag, type Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import type { InstrumentKind } from '../metrics/metric-table.js';
import { prometheusName, prometheusType, sanitizeName, unitSuffix } from '../metrics/prometheus-names.js';
import { escapeHelp, escapeLabelValue, histogramSamples, sample, targetInfoText, type ExpositionFormat } from './prometheus-text.js';

/**
 * Any SDK collection (ours, the application's instruments, other producers)
 * as Prometheus text, named by the same compatibility rules as our own
 * endpoint (`prometheusName`): unit suffixes, `_total` on monotonic sums,
 * `# UNIT` in OpenMetrics, `target_info` from the resource, and the scope as
 * `otel_scope_*` labels on every sample.
 *
 * Metrics of the same Prometheus name from several scopes are written as one
 * family, since a family's lines must stand together. What Prometheus cannot
 * take (delta sums and histograms, exponential histograms, a name already
 * used by another type) is left out, with one diagnostic per metric name.
 */

export interface SerializerOptions {
  /** Put before every metric name, joined with `_`. */
  prefix?: string;
  /** Write each sample's collection time after its value. */
  appendTimestamp?: boolean;
  /** Resource attributes whose key matches become labels of every sample. */
  withResourceConstantLabels?: RegExp;
  /** No `otel_scope_*` labels. */
  withoutScopeInfo?: boolean;
  /** No `target_info`. */
  withoutTargetInfo?: boolean;
}

interface Family {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly header: string;
  body: string;
}

/** Diagnostics about metrics left out, one per name: a scrape never logs the same thing again. */
const MAX_REPORTED = 256;

function kindOf(metric: MetricData): InstrumentKind | undefined {
  switch (metric.dataPointType) {
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'updowncounter';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return undefined;
  }
}

/** Labels from several attribute sets in order; keys that sanitise to the same name have their values joined by `;`. */
function mergedLabels(sets: ReadonlyArray<Attributes | undefined>, names: LabelNames): string {
  const merged = new Map<string, string[]>();
  for (const attributes of sets) {
    if (attributes === undefined) continue;
    for (const [key, value] of Object.entries(attributes)) {
      if (value === undefined) continue;
      const name = names.of(key);
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      const values = merged.get(name);
      if (values === undefined) merged.set(name, [text]);
      else values.push(text);
    }
  }
  let out = '';
  for (const [name, values] of merged) out += `${out === '' ? '' : ','}${name}="${escapeLabelValue(values.join(';'))}"`;
  return out;
}

/** Attribute keys as label names, sanitised once: the same keys come back on every point. */
class LabelNames {
  readonly #names = new Map<string, string>();

  of(key: string): string {
    let name = this.#names.get(key);
    if (name === undefined) {
      name = sanitizeName(key);
      // Keys are few; the cap keeps a runaway application from growing it.
      if (this.#names.size < 4096) this.#names.set(key, name);
    }
    return name;
  }
}

/** The labels every sample of a scope carries (scope, constant resource labels), as text once. */
interface FixedLabels {
  readonly attributes: Attributes;
  readonly names: readonly string[];
  readonly text: string;
}

function fixedLabels(sets: ReadonlyArray<Attributes | undefined>, names: LabelNames): FixedLabels {
  const attributes: Attributes = Object.assign({}, ...sets) as Attributes;
  return { attributes, names: Object.keys(attributes).map((key) => names.of(key)), text: mergedLabels(sets, names) };
}

/**
 * A point's labels and then the fixed ones. Written straight out while no two
 * keys make the same label name, which is nearly always; merged otherwise.
 */
function pointLabels(attributes: Attributes, fixed: FixedLabels, names: LabelNames): string {
  let text = '';
  const seen: string[] = [];
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined) continue;
    const name = names.of(key);
    if (seen.includes(name) || fixed.names.includes(name)) return mergedLabels([attributes, fixed.attributes], names);
    seen.push(name);
    text += `${text === '' ? '' : ','}${name}="${escapeLabelValue(typeof value === 'string' ? value : JSON.stringify(value))}"`;
  }
  if (fixed.text === '') return text;
  return text === '' ? fixed.text : `${text},${fixed.text}`;
}

/** The scope as labels, as the compatibility spec has it: name, version, schema URL and any scope attributes. */
function scopeLabels(scope: ScopeMetrics['scope']): Attributes {
  const labels: Attributes = { otel_scope_name: scope.name };
  if (scope.version !== undefined && scope.version !== '') labels['otel_scope_version'] = scope.version;
  if (scope.schemaUrl !== undefined && scope.schemaUrl !== '') labels['otel_scope_schema_url'] = scope.schemaUrl;
  // Scope attributes exist on newer SDK lines only.
  const attributes = (scope as { attributes?: Attributes }).attributes;
  if (attributes !== undefined) for (const [key, value] of Object.entries(attributes)) labels[`otel_scope_${key}`] = value;
  return labels;
}

function timestampText(point: DataPoint<unknown>, format: ExpositionFormat): string {
  const [seconds, nanos] = point.endTime;
  // OpenMetrics counts in seconds, the 0.0.4 format in milliseconds.
  return format === 'openmetrics' ? ` ${seconds + Math.floor(nanos / 1e6) / 1e3}` : ` ${seconds * 1e3 + Math.floor(nanos / 1e6)}`;
}

export class PrometheusTextSerializer {
  readonly #prefix: string;
  readonly #options: SerializerOptions;
  readonly #reported = new Set<string>();
  readonly #names = new LabelNames();

  constructor(options: SerializerOptions = {}) {
    this.#options = options;
    this.#prefix = options.prefix === undefined || options.prefix === '' ? '' : `${options.prefix}_`;
  }

  serialize(resourceMetrics: ResourceMetrics, format: ExpositionFormat): string {
    const resource = resourceMetrics.resource.attributes;
    const pattern = this.#options.withResourceConstantLabels;
    // search(), unlike test(), keeps no state between calls on a /g pattern.
    const constant: Attributes | undefined =
      pattern === undefined ? undefined : Object.fromEntries(Object.entries(resource).filter(([key]) => key.search(pattern) !== -1));

    const families = new Map<string, Family>();
    for (const scopeMetrics of resourceMetrics.scopeMetrics) {
      const scope = this.#options.withoutScopeInfo === true ? undefined : scopeLabels(scopeMetrics.scope);
      const fixed = fixedLabels([scope, constant], this.#names);
      for (const metric of scopeMetrics.metrics) this.#add(families, metric, fixed, format);
    }

    let text = this.#options.withoutTargetInfo === true ? '' : targetInfoText(resource, format);
    for (const family of families.values()) text += family.header + family.body;
    return format === 'openmetrics' ? `${text}# EOF\n` : text;
  }

  #add(families: Map<string, Family>, metric: MetricData, fixed: FixedLabels, format: ExpositionFormat): void {
    const { descriptor } = metric;
    const kind = kindOf(metric);
    const name = kind === undefined ? '' : prometheusName(`${this.#prefix}${descriptor.name}`, descriptor.unit, kind);
    let family = families.get(name);
    const problem =
      kind === undefined
        ? 'exponential histograms have no Prometheus text form'
        : kind !== 'gauge' && metric.aggregationTemporality === AggregationTemporality.DELTA
          ? 'delta temporality; Prometheus takes cumulative sums and histograms only'
          : name === '' || name === '_'
            ? 'nothing of the name is left once sanitised'
            : family !== undefined && family.type !== prometheusType(kind)
              ? `${name} is already a ${family.type}`
              : undefined;
    if (kind === undefined || problem !== undefined) {
      this.#leaveOut(descriptor.name, problem ?? '');
      return;
    }
    if (family === undefined) {
      family = { type: prometheusType(kind), header: this.#header(name, kind, descriptor.description, descriptor.unit, format), body: '' };
      families.set(name, family);
    }

    const stamp = this.#options.appendTimestamp === true;
    let body = '';
    if (metric.dataPointType === DataPointType.HISTOGRAM) {
      for (const point of metric.dataPoints as ReadonlyArray<DataPoint<Histogram>>) {
        const { buckets, sum, count } = point.value;
        const value = { boundaries: buckets.boundaries, counts: buckets.counts, sum: sum ?? 0, count };
        body += histogramSamples(name, pointLabels(point.attributes, fixed, this.#names), value, stamp ? timestampText(point, format) : '');
      }
    } else {
      for (const point of metric.dataPoints as ReadonlyArray<DataPoint<number>>) {
        body += sample(name, pointLabels(point.attributes, fixed, this.#names), point.value, stamp ? timestampText(point, format) : '');
      }
    }
    family.body += body;
  }

  /**
   * HELP and TYPE (and UNIT in OpenMetrics) of a family. OpenMetrics names a
   * counter's family without `_total`, and takes a unit only when the family
   * name ends with it.
   */
  #header(name: string, kind: InstrumentKind, description: string, unit: string, format: ExpositionFormat): string {
    const type = prometheusType(kind);
    const family = format === 'openmetrics' && kind === 'counter' ? name.replace(/_total$/, '') : name;
    let text = description === '' ? '' : `# HELP ${family} ${escapeHelp(description, format)}\n`;
    text += `# TYPE ${family} ${type}\n`;
    const word = unitSuffix(unit, kind);
    if (format === 'openmetrics' && word !== '' && family.endsWith(`_${word}`)) text += `# UNIT ${family} ${word}\n`;
    return text;
  }

  #leaveOut(metricName: string, why: string): void {
    if (this.#reported.has(metricName) || this.#reported.size >= MAX_REPORTED) return;
    this.#reported.add(metricName);
    diag.warn(`Prometheus: metric ${metricName} left out: ${why}`);
  }
}
