// PrometheusReader in an application's own NodeSDK or MeterProvider: the names
// the compatibility spec gives every metric, ours and the application's, the
// same as the command's endpoint writes; the 0.0.4 text format promtool reads;
// OpenMetrics for a scraper that asks, checked by a strict parser.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics, ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  MeterProvider,
  type CollectionResult,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import {
  PrometheusListenError,
  PrometheusReader,
  createMetricProducer,
  startTelemetry,
  type PrometheusReaderOptions,
} from '../../src/otel/index.js';
import { METRICS } from '../../src/metrics/metric-table.js';
import { prometheusName } from '../../src/metrics/prometheus-names.js';
import { killAll, spawnIdle } from '../support/process.js';
import { requireBinaries, requirePythonModule, SYSTEM_PYTHON } from '../support/prometheus.js';
import { commandEndpoint, embeddedReader, type ScrapedTracker } from '../support/scrape-paths.js';
import { parseExposition } from './exposition.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await killAll();
});

/** What Prometheus 2.42 sends. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

async function get(url: string, accept?: string): Promise<{ type: string; text: string }> {
  const response = await fetch(url, accept === undefined ? {} : { headers: { accept } });
  expect(response.status).toBe(200);
  return { type: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** `# TYPE` lines: family name -> type. */
function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

async function start(path: typeof embeddedReader): Promise<ScrapedTracker> {
  const scraped = await path.start();
  cleanup.push(() => scraped.stop());
  return scraped;
}

/** The application's own instruments, on the global MeterProvider NodeSDK registered. */
function recordAppMetrics(): void {
  const meter = metrics.getMeter('shop', '2.0.0');
  meter.createCounter('http.server.requests', { unit: '{request}', description: 'Requests served.' }).add(3, { 'http.route': '/cart' });
  meter
    .createHistogram('http.server.request.duration', { unit: 's', description: 'Time to answer.' })
    .record(0.25, { 'http.route': '/cart' });
  meter.createUpDownCounter('queue.size', { unit: 'By', description: 'Bytes queued.' }).add(512);
  meter.createGauge('cache.hit_ratio', { unit: '1', description: 'Hits per lookup.' }).record(0.75);
  meter
    .createCounter('net.received', { unit: 'By/s', description: 'Receive rate, as a counter of odd unit.', valueType: ValueType.INT })
    .add(7);
}

describe('PrometheusReader in a NodeSDK, with the tracker and the application metrics', () => {
  it('writes every procmetrics metric under the name and type the command endpoint gives it', async () => {
    const child = spawnIdle();
    const app = await start(embeddedReader);
    const command = await start(commandEndpoint);
    await app.tracker.track('worker', child.pid);
    await command.tracker.track('worker', child.pid);

    const fromApp = types((await get(app.url)).text);
    const fromCommand = types((await get(command.url)).text);
    const ours = (names: Map<string, string>): Array<[string, string]> =>
      [...names].filter(([name]) => name.startsWith('process_') || name.startsWith('procmetrics_')).sort();
    expect(ours(fromApp).length).toBeGreaterThan(15);
    expect(ours(fromApp)).toEqual(ours(fromCommand));
    // And those are the table's names, not the ones the official exporter would write.
    for (const [name] of ours(fromApp))
      expect(
        METRICS.some((row) => prometheusName(row.name, row.unit, row.kind) === name),
        name,
      ).toBe(true);
    expect(fromApp.get('process_cpu_time_seconds_total')).toBe('counter');
    expect(fromApp.get('process_memory_usage_bytes')).toBe('gauge');
    expect(fromApp.get('process_uptime_seconds')).toBe('gauge');
    expect(fromApp.has('process_cpu_time_total')).toBe(false);
  });

  it("names the application's instruments by the same rules: unit words, _per_, _total, _ratio, no annotations", async () => {
    const app = await start(embeddedReader);
    recordAppMetrics();
    const { type, text } = await get(app.url);
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(Object.fromEntries([...types(text)].filter(([name]) => !name.startsWith('proc')))).toEqual({
      target_info: 'gauge',
      http_server_requests_total: 'counter',
      http_server_request_duration_seconds: 'histogram',
      queue_size_bytes: 'gauge',
      cache_hit_ratio: 'gauge',
      net_received_bytes_per_second_total: 'counter',
    });
    const samples = parseExposition(text);
    const scope = { otel_scope_name: 'shop', otel_scope_version: '2.0.0' };
    expect(samples).toContainEqual({ name: 'http_server_requests_total', labels: { http_route: '/cart', ...scope }, value: 3 });
    expect(samples).toContainEqual({
      name: 'http_server_request_duration_seconds_count',
      labels: { http_route: '/cart', ...scope },
      value: 1,
    });
    expect(samples).toContainEqual({
      name: 'http_server_request_duration_seconds_sum',
      labels: { http_route: '/cart', ...scope },
      value: 0.25,
    });
    expect(samples).toContainEqual({
      name: 'http_server_request_duration_seconds_bucket',
      labels: { http_route: '/cart', ...scope, le: '+Inf' },
      value: 1,
    });
    expect(samples).toContainEqual({ name: 'cache_hit_ratio', labels: scope, value: 0.75 });
    // The 0.0.4 format has no UNIT; the resource is target_info.
    expect(text).not.toContain('# UNIT');
    const [target] = samples.filter((s) => s.name === 'target_info');
    expect(target?.labels).toMatchObject({ service_name: 'my-app', telemetry_sdk_language: 'nodejs' });
  });

  it("gives a tracker on the SDK's own MeterProvider (observable instruments) the same names", async () => {
    const child = spawnIdle();
    const reader = new PrometheusReader({ host: '127.0.0.1', port: 0 });
    const sdk = new NodeSDK({ serviceName: 'my-app', metricReaders: [reader], instrumentations: [] });
    sdk.start();
    cleanup.push(async () => {
      await sdk.shutdown();
      metrics.disable();
    });
    await reader.startServer();
    const tracker = new Tracker(defaultCollector()); // the global provider NodeSDK registered
    cleanup.push(() => tracker.close());
    await tracker.track('worker', child.pid);
    const { text } = await get(reader.url!);
    expect(types(text).get('process_cpu_time_seconds_total')).toBe('counter');
    expect(types(text).get('process_memory_usage_bytes')).toBe('gauge');
    expect(parseExposition(text)).toContainEqual(
      expect.objectContaining({ name: 'process_memory_usage_bytes', labels: expect.objectContaining({ service_name: 'worker' }) }),
    );
  });

  it('puts the procmetrics scope on our series, and the service identity, as the spec has scope labels', async () => {
    const child = spawnIdle();
    const app = await start(embeddedReader);
    await app.tracker.track('worker', child.pid);
    const samples = parseExposition((await get(app.url)).text);
    const memory = samples.filter((s) => s.name === 'process_memory_usage_bytes');
    expect(memory).toHaveLength(1);
    expect(memory[0]?.labels).toMatchObject({ service_name: 'worker', otel_scope_name: 'procmetrics' });
    expect(memory[0]?.labels['otel_scope_version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(samples).toContainEqual(expect.objectContaining({ name: 'procmetrics_exporter_failures_total', value: 0 }));
  });
});

describe("the command's endpoint, for instruments of the application on its MeterProvider", () => {
  it('names them by the same rules as the reader, once target_info', async () => {
    const telemetry = await startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 } });
    cleanup.push(() => telemetry.shutdown());
    const meter = telemetry.meterProvider.getMeter('shop', '2.0.0');
    meter.createCounter('http.server.requests', { unit: '{request}', description: 'Requests served.' }).add(3);
    meter.createHistogram('http.server.request.duration', { unit: 's', description: 'Time to answer.' }).record(0.25);
    const { text } = await get(telemetry.prometheusUrl!);
    expect(types(text).get('http_server_requests_total')).toBe('counter');
    expect(types(text).get('http_server_request_duration_seconds')).toBe('histogram');
    expect(text).toContain('http_server_requests_total{otel_scope_name="shop",otel_scope_version="2.0.0"} 3\n');
    expect(text.match(/^target_info/gm)).toHaveLength(1);
  });

  it('with applicationInstruments false, takes trackers but records nothing of the application', async () => {
    await expect(
      startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 }, applicationInstruments: 1 as never }),
    ).rejects.toThrow(/options\.applicationInstruments must be a boolean.*1/);
    const telemetry = await startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 }, applicationInstruments: false });
    cleanup.push(() => telemetry.shutdown());
    const child = spawnIdle();
    const tracker = new Tracker(defaultCollector(), { meterProvider: telemetry.meterProvider, collectionInterval: 60_000 });
    cleanup.push(() => tracker.stop());
    await tracker.track('worker', child.pid);
    telemetry.meterProvider.getMeter('shop').createCounter('http.server.requests').add(3);
    const { text } = await get(telemetry.prometheusUrl!);
    expect(text).toMatch(/^process_memory_usage_bytes\{service_name="worker"\} \d+$/m);
    expect(text).not.toContain('http_server_requests');
    await telemetry.forceFlush();
  });
});

describe.skipIf(!requireBinaries(['promtool'], 'PrometheusReader output under promtool'))('PrometheusReader output under promtool', () => {
  it('passes promtool check metrics, whose only findings are the semconv *.count names', async () => {
    const child = spawnIdle();
    const app = await start(embeddedReader);
    await app.tracker.track('worker', child.pid);
    recordAppMetrics();
    const { text } = await get(app.url);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // 0: clean; 3: lint findings only; anything else is a format error.
    expect([0, 3], promtool.stderr + promtool.stdout).toContain(promtool.status);
    const findings = (promtool.stdout + promtool.stderr).split('\n').filter((line) => line.trim() !== '');
    const expected = /^process_(thread|unix_file_descriptor)_count non-histogram and non-summary metrics should not have "_count" suffix$/;
    for (const line of findings) expect(line).toMatch(expected);
  });
});

/** Runs the Python client's strict OpenMetrics parser on `text`; its error, or null. */
function openMetricsError(text: string): string | null {
  const script = [
    'import sys',
    'from prometheus_client.openmetrics.parser import text_string_to_metric_families',
    'for family in text_string_to_metric_families(sys.stdin.read()): pass',
  ].join('\n');
  const run = spawnSync(SYSTEM_PYTHON, ['-c', script], { input: text, encoding: 'utf8' });
  return run.status === 0 ? null : (run.stderr.trim().split('\n').at(-1) ?? `exit ${String(run.status)}`);
}

describe.skipIf(!requirePythonModule('prometheus_client', 'python3-prometheus-client', 'PrometheusReader OpenMetrics'))(
  'PrometheusReader OpenMetrics',
  () => {
    it('answers a scraper that asks for OpenMetrics with valid OpenMetrics 1.0: counters, units, info, # EOF', async () => {
      const child = spawnIdle();
      const app = await start(embeddedReader);
      await app.tracker.track('worker', child.pid);
      recordAppMetrics();
      const { type, text } = await get(app.url, PROMETHEUS_ACCEPT);
      expect(type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
      expect(openMetricsError(text)).toBeNull();
      // The checker can fail: the same text without its end marker is refused.
      expect(openMetricsError(text.replace('# EOF\n', ''))).not.toBeNull();

      expect(text.endsWith('# EOF\n')).toBe(true);
      // A counter's family is named without _total, its samples with it; the unit is the family's suffix.
      expect(text).toContain('# TYPE process_cpu_time_seconds counter\n# UNIT process_cpu_time_seconds seconds\n');
      expect(text).toMatch(/^process_cpu_time_seconds_total\{/m);
      expect(text).toContain('# UNIT process_memory_usage_bytes bytes\n');
      expect(text).toContain('# TYPE http_server_requests counter\n');
      expect(text).toContain('# UNIT http_server_request_duration_seconds seconds\n');
      expect(text).toContain('# UNIT cache_hit_ratio ratio\n');
      // Annotations are no unit.
      expect(text).not.toMatch(/# UNIT (process_thread_count|http_server_requests) /);
      expect(text).toContain('# TYPE target info\n');
      expect(text).toMatch(/^target_info\{service_name="my-app",/m);
    });

    it('gives the 0.0.4 text format to a scraper that asks for it, or for nothing in particular', async () => {
      const app = await start(embeddedReader);
      for (const accept of [undefined, 'text/plain;version=0.0.4', '*/*', 'application/openmetrics-text;version=0.0.1']) {
        const { type, text } = await get(app.url, accept);
        expect(type, accept).toBe('text/plain; version=0.0.4; charset=utf-8');
        expect(text, accept).not.toContain('# EOF');
      }
      // Caches must keep the two apart.
      expect((await fetch(app.url)).headers.get('vary')).toBe('Accept, Accept-Encoding');
      expect((await get(app.url, 'text/plain;q=0.5, application/openmetrics-text')).type).toContain('openmetrics');
      expect((await get(app.url, 'text/plain, application/openmetrics-text;q=0.5')).type).toContain('text/plain');
    });
  },
);

/** A MeterProvider of the application's with the reader, and a few instruments. */
function providerWith(options: PrometheusReaderOptions): PrometheusReader {
  const reader = new PrometheusReader({ preventServerStart: true, ...options });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop', 'deployment.environment': 'test' }),
    readers: [reader],
    views: [{ instrumentName: 'exp.*', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  cleanup.push(() => provider.shutdown());
  const meter = provider.getMeter('shop', '2.0.0');
  meter.createCounter('orders', { unit: '{order}', description: 'Orders.' }).add(2, { 'order.kind': 'a', order_kind: 'b' });
  meter.createHistogram('exp.latency', { unit: 's' }).record(1);
  return reader;
}

describe('PrometheusReader options, as PrometheusExporter has them', () => {
  it('prefix, withResourceConstantLabels, withoutScopeInfo, withoutTargetInfo, appendTimestamp', async () => {
    const plain = await providerWith({}).scrape();
    expect(plain).toContain('target_info{service_name="shop",deployment_environment="test"} 1');
    // Attribute keys that sanitise alike are one label, their values joined.
    expect(plain).toContain('orders_total{order_kind="a;b",otel_scope_name="shop",otel_scope_version="2.0.0"} 2');
    // An exponential histogram has no text form: left out, never a broken family.
    expect(plain).not.toContain('exp_latency');

    const shaped = await providerWith({
      prefix: 'app',
      withResourceConstantLabels: /^deployment\./,
      withoutScopeInfo: true,
      withoutTargetInfo: true,
    }).scrape();
    expect(shaped).not.toContain('target_info');
    expect(shaped).toContain('app_orders_total{order_kind="a;b",deployment_environment="test"} 2');

    const before = Date.now();
    const stamped = await providerWith({ appendTimestamp: true }).scrape();
    const [, ms] = /^orders_total\{.*\} 2 (\d+)$/m.exec(stamped) ?? [];
    // Milliseconds since the epoch, of this collection.
    expect(Number(ms)).toBeGreaterThanOrEqual(before - 1);
    expect(Number(ms)).toBeLessThanOrEqual(Date.now());
  });

  it('leaves out delta sums, which Prometheus cannot take, and keeps the rest', async () => {
    const now: [number, number] = [Math.floor(Date.now() / 1000), 0];
    const delta: MetricProducer = {
      collect: async (): Promise<CollectionResult> => ({
        resourceMetrics: {
          resource: resourceFromAttributes({}),
          scopeMetrics: [
            {
              scope: { name: 'pusher' },
              metrics: [
                {
                  descriptor: { name: 'jobs.done', description: '', unit: '', valueType: ValueType.INT },
                  aggregationTemporality: AggregationTemporality.DELTA,
                  dataPointType: DataPointType.SUM,
                  isMonotonic: true,
                  dataPoints: [{ startTime: now, endTime: now, attributes: {}, value: 4 }],
                },
              ],
            },
          ],
        },
        errors: [],
      }),
    };
    const text = await providerWith({ metricProducers: [delta] }).scrape();
    expect(text).not.toContain('jobs_done');
    expect(text).toContain('orders_total');
  });

  it('serves a server of the application through getMetricsRequestHandler', async () => {
    const reader = providerWith({});
    expect(reader.url).toBeUndefined();
    const server = createServer((request, response) => reader.getMetricsRequestHandler(request, response));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { text } = await get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/anything`);
    expect(text).toContain('orders_total{');
  });

  it('listens on the endpoint asked for, 404 elsewhere, and closes on shutdown', async () => {
    const reader = new PrometheusReader({ host: '127.0.0.1', port: 0, endpoint: 'prom' });
    const provider = new MeterProvider({ readers: [reader] });
    await reader.startServer();
    expect(reader.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/prom$/);
    const url = reader.url!;
    expect((await fetch(url.replace('/prom', '/metrics'))).status).toBe(404);
    expect((await fetch(url)).status).toBe(200);
    await provider.shutdown();
    await expect(fetch(url)).rejects.toThrow();
  });

  it('reports a port that is taken to the callback and through startServer, typed', async () => {
    const first = new PrometheusReader({ host: '127.0.0.1', port: 0 });
    cleanup.push(() => first.shutdown());
    await first.startServer();
    const port = Number(new URL(first.url!).port);
    let reported: Error | undefined;
    const second = new PrometheusReader({ host: '127.0.0.1', port }, (error) => (reported = error));
    await expect(second.startServer()).rejects.toBeInstanceOf(PrometheusListenError);
    await expect(second.startServer()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(reported).toBeInstanceOf(PrometheusListenError);
  });

  it.each([
    [{ port: 70000 }, 'ERR_OUT_OF_RANGE', /options\.port.*70000/],
    [{ port: '9464' }, 'ERR_INVALID_ARG_TYPE', /options\.port.*"9464"/],
    [{ host: '' }, 'ERR_INVALID_ARG_VALUE', /options\.host/],
    [{ prefix: 5 }, 'ERR_INVALID_ARG_TYPE', /options\.prefix.*5/],
    [{ withResourceConstantLabels: 'service.*' }, 'ERR_INVALID_ARG_TYPE', /options\.withResourceConstantLabels/],
    [{ withoutScopeInfo: 'yes' }, 'ERR_INVALID_ARG_TYPE', /options\.withoutScopeInfo.*"yes"/],
    [{ metricProducers: [{}] }, 'ERR_INVALID_ARG_TYPE', /options\.metricProducers/],
  ])('refuses %o with a typed error naming it', (options, code, message) => {
    expect(() => new PrometheusReader({ preventServerStart: true, ...(options as PrometheusReaderOptions) })).toThrow(
      expect.objectContaining({ code, message: expect.stringMatching(message) }),
    );
  });

  it('counts a failed scrape in procmetrics_exporter_failures_total, answering it with a 500', async () => {
    let fail = true;
    const flaky: MetricProducer = {
      collect: async () => {
        if (fail) {
          fail = false;
          throw new Error('source unavailable');
        }
        return { resourceMetrics: { resource: resourceFromAttributes({}), scopeMetrics: [] }, errors: [] };
      },
    };
    const tracker = new Tracker(defaultCollector(), { meterProvider: null });
    cleanup.push(() => tracker.close());
    const reader = new PrometheusReader({ host: '127.0.0.1', port: 0, metricProducers: [flaky, createMetricProducer(tracker)] });
    const provider = new MeterProvider({ readers: [reader] });
    cleanup.push(() => provider.shutdown());
    await reader.startServer();
    expect((await fetch(reader.url!)).status).toBe(500);
    const samples = parseExposition((await get(reader.url!)).text);
    expect(samples).toContainEqual({
      name: 'procmetrics_exporter_failures_total',
      labels: expect.objectContaining({ procmetrics_exporter: 'prometheus' }),
      value: 1,
    });
  });
});
