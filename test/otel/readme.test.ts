import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../src/metrics/metric-table.js';
import { prometheusName } from '../../src/metrics/prometheus-names.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('<!-- section:otel -->'), readme.indexOf('<!-- /section:otel -->'));

describe('README OpenTelemetry section', () => {
  it('has a table row, with the right unit, for every exported metric', () => {
    for (const row of METRICS) {
      const line = section.split('\n').find((l) => l.startsWith(`| \`${row.name}\` |`));
      expect(line, row.name).toBeDefined();
      expect(line, row.name).toContain(`| \`${row.unit}\` |`);
      const promName = prometheusName(row.name, row.unit, row.kind);
      expect(line, row.name).toContain(`\`${promName}\``);
      const kind = { counter: 'sum, monotonic', updowncounter: 'sum, non-monotonic', gauge: 'gauge', histogram: 'histogram' }[row.kind];
      expect(line, row.name).toContain(`| ${kind} |`);
    }
  });
});
