// An application that set up OpenTelemetry with NodeSDK and its own readers gets
// the tracker's metrics through its own pipeline, both ways the README shows.
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import { createMetricProducer, instrumentTracker, startTelemetry } from '../../src/otel/index.js';
import { METRICS } from '../../src/metrics/metric-table.js';
import { prometheusName, sanitizeName } from '../../src/metrics/prometheus-names.js';
import { killAll, spawnIdle } from '../support/process.js';
import { parseExposition, type Sample } from './exposition.js';
import { freePort } from '../support/net.js';

process.env['OTEL_TRACES_EXPORTER'] = 'none';
process.env['OTEL_LOGS_EXPORTER'] = 'none';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await killAll();
});

async function startSdk(producerOf?: Tracker): Promise<{ url: string }> {
  const port = await freePort();
  const sdk = new NodeSDK({
    serviceName: 'my-app',
    metricReaders: [
      new PrometheusExporter({
        host: '127.0.0.1',
        port,
        ...(producerOf ? { metricProducers: [createMetricProducer(producerOf)] } : {}),
      }),
    ],
    instrumentations: [],
  });
  sdk.start();
  cleanup.push(async () => {
    await sdk.shutdown();
    metrics.disable();
  });
  const url = `http://127.0.0.1:${port}/metrics`;
  // The exporter's server starts asynchronously.
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { url };
}

const scrapeText = async (url: string): Promise<string> => (await fetch(url)).text();

/** Samples of procmetrics series, without the SDK's scope labels. */
function ours(text: string): Sample[] {
  return parseExposition(text)
    .filter((s) => s.name !== 'target_info')
    .map((s) => {
      const labels = Object.fromEntries(Object.entries(s.labels).filter(([key]) => !key.startsWith('otel_scope_')));
      return { ...s, labels };
    });
}

const key = (s: Sample): string => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.value}`;

function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe('NodeSDK with its own Prometheus reader', () => {
  it('gets the tracker through the global MeterProvider, agreeing with our endpoint on series, types and values', async () => {
    const { url } = await startSdk();
    const tracker = new Tracker(defaultCollector()); // default meterProvider: the global one NodeSDK set
    cleanup.push(() => tracker.close());
    const telemetry = await startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 } });
    cleanup.push(() => telemetry.shutdown());
    const leave = instrumentTracker(tracker, telemetry.meterProvider);
    cleanup.push(async () => leave());

    const child = spawnIdle();
    await tracker.track('worker', child.pid);
    tracker.register('idle-service');

    const official = await scrapeText(url);
    const mine = await scrapeText(telemetry.prometheusUrl!);
    // The SDK's serializer does not append units; ours does, per the compatibility rules.
    const rename = new Map(
      METRICS.map((row) => [
        sanitizeName(row.name) + (row.kind === 'counter' ? '_total' : ''),
        prometheusName(row.name, row.unit, row.kind),
      ]),
    );
    const translated = ours(official).map((s) => ({ ...s, name: rename.get(s.name) ?? s.name }));
    // Not through instruments: the API has no observable histogram, and export failures are our pipeline's own.
    const pipelineOnly = /^procmetrics_(tracker_tick_duration_seconds_|exporter_failures_total)/;
    const comparable = ours(mine).filter((s) => !pipelineOnly.test(s.name));
    expect(translated.map(key).sort()).toEqual(comparable.map(key).sort());
    const officialTypes = types(official);
    for (const [name, type] of types(mine)) {
      if (name === 'target_info' || pipelineOnly.test(`${name}_`)) continue;
      const row = METRICS.find((r) => prometheusName(r.name, r.unit, r.kind) === name)!;
      expect(officialTypes.get(sanitizeName(row.name) + (row.kind === 'counter' ? '_total' : '')), name).toBe(type);
    }
  });

  it('keeps a stopped service at its last values through instruments; the producer gives exact series', async () => {
    const exact = new Tracker(defaultCollector(), { meterProvider: null });
    cleanup.push(() => exact.close());
    const { url } = await startSdk(exact);
    const bounded = new Tracker(defaultCollector());
    cleanup.push(() => bounded.close());

    const child = spawnIdle();
    await bounded.track('via-instruments', child.pid);
    await exact.track('via-producer', child.pid);
    const before = parseExposition(await scrapeText(url));
    expect(before.some((s) => s.name === 'process_memory_usage' && s.labels['service_name'] === 'via-instruments')).toBe(true);
    expect(before.some((s) => s.name === 'process_memory_usage' && s.labels['service_name'] === 'via-producer')).toBe(true);

    bounded.untrack('via-instruments');
    exact.untrack('via-producer');
    const after = parseExposition(await scrapeText(url));
    expect(after.some((s) => s.labels['service_name'] === 'via-producer')).toBe(false);
    // What the SDK keeps (opentelemetry-js#4096), as the README says; bounded, never by restarts.
    expect(after.some((s) => s.name === 'process_memory_usage' && s.labels['service_name'] === 'via-instruments')).toBe(true);
  });
});
