// What the example dashboard and rules ask of the library, read from their PromQL.
import { METRICS, prometheusName } from '../../src/otel/index.js';

/** Prometheus names of every series the library exports, histogram series included. */
export function exportedSeriesNames(): Set<string> {
  const names = new Set<string>();
  for (const row of METRICS) {
    const name = prometheusName(row.name, row.unit, row.kind);
    names.add(name);
    // A histogram family is served as these three. For other kinds the names do
    // not exist, and the dashboard test finds a query over one returning nothing.
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/**
 * The procmetrics metric names an expression selects. Label matchers and
 * grouping lists are cut out first, so label names such as procmetrics_state
 * are not mistaken for metrics.
 */
export function metricNamesIn(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = withoutLabels.match(/\b(process|procmetrics)_[a-z0-9_]+\b/g) ?? [];
  return [...new Set(names)];
}
