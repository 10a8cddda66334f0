import type { Attributes } from '@opentelemetry/api';

/**
 * Which series the latest observable callback reported.
 *
 * Why this exists: with cumulative temporality, @opentelemetry/sdk-metrics 2.12
 * keeps exporting every attribute set an observable instrument ever reported,
 * frozen at its last value, although the spec says a set missing from a
 * successful callback should not be exported (open-telemetry/opentelemetry-js
 * issue #4096). A stopped service would then stay "running" in Prometheus
 * forever. instruments.ts records here what each callback observed, and the
 * export pipeline of `procmetrics/otel` drops every other data point of the
 * procmetrics meter.
 */

/** The attribute half of series keys, per attributes object (the callback reuses its objects). */
const attributeKeys = new WeakMap<Attributes, string>();

/** A stable key for one series of one instrument (attribute order does not matter). */
export function seriesKey(instrumentName: string, attributes: Attributes): string {
  let suffix = attributeKeys.get(attributes);
  if (suffix === undefined) {
    suffix = '';
    for (const name of Object.keys(attributes).sort()) suffix += `\u0000${name}\u0001${String(attributes[name])}`;
    attributeKeys.set(attributes, suffix);
  }
  return instrumentName + suffix;
}

/** What one instrumentTracker registration observed in its latest callback. */
export class ObservedSeries {
  private latest: ReadonlySet<string> = new Set();
  private pending = new Set<string>();

  begin(): void {
    this.pending = new Set();
  }

  add(instrumentName: string, attributes: Attributes): void {
    this.pending.add(seriesKey(instrumentName, attributes));
  }

  /** Called once the callback returned normally; a callback that threw leaves the previous set in place. */
  commit(): void {
    this.latest = this.pending;
    this.pending = new Set();
  }

  has(key: string): boolean {
    return this.latest.has(key);
  }
}

/** Registrations per MeterProvider (several trackers may share one provider). */
const registry = new WeakMap<object, Set<ObservedSeries>>();

export function registerObservedSeries(meterProvider: object, series: ObservedSeries): () => void {
  let set = registry.get(meterProvider);
  if (set === undefined) {
    set = new Set();
    registry.set(meterProvider, set);
  }
  set.add(series);
  const owner = set;
  return () => {
    owner.delete(series);
  };
}

/** True when some tracker registered on `meterProvider` observed this series in its latest callback. */
export function isLiveSeries(meterProvider: object, instrumentName: string, attributes: Attributes): boolean {
  const set = registry.get(meterProvider);
  if (set === undefined) return false;
  const key = seriesKey(instrumentName, attributes);
  for (const series of set) if (series.has(key)) return true;
  return false;
}
