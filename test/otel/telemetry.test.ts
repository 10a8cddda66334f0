// startTelemetry with its Prometheus endpoint, through the real Tracker, collector and child processes.
import { get as httpGet } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import { ENDPOINT_LIMITS, startTelemetry, type Telemetry, type TelemetryOptions } from '../../src/otel/index.js';
import { killAll, killAndWait, spawnIdle, waitFor } from '../support/process.js';
import { FakeSource, SEMCONV_PROCESS_METRICS, fakeSnapshot } from './support.js';
import { instrumentTracker } from '../../src/metrics/instruments.js';
import { parseExposition, samplesOf, scrape } from './exposition.js';
import { freePort } from '../support/net.js';
import { collectGarbage } from '../support/gc.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await killAll();
});

/** A GET with exactly these headers (fetch would add gzip): the body as sent, and its encoding. */
function getRaw(url: string, headers: Record<string, string>): Promise<{ encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ encoding: response.headers['content-encoding'], body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

async function start(options: TelemetryOptions = {}): Promise<Telemetry> {
  const telemetry = await startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 }, ...options });
  cleanup.push(() => telemetry.shutdown());
  return telemetry;
}

function track(telemetry: Telemetry): Tracker {
  const tracker = new Tracker(defaultCollector(), { meterProvider: telemetry.meterProvider, collectionInterval: 100 });
  cleanup.push(() => tracker.close());
  tracker.start();
  return tracker;
}

/** The Prometheus names of the semconv process metrics, spelled out so that a naming slip in src fails. */
const PROMETHEUS_NAMES: Record<(typeof SEMCONV_PROCESS_METRICS)[number], { name: string; counter: boolean }> = {
  'process.cpu.time': { name: 'process_cpu_time_seconds_total', counter: true },
  'process.cpu.utilization': { name: 'process_cpu_utilization_ratio', counter: false },
  'process.memory.usage': { name: 'process_memory_usage_bytes', counter: false },
  'process.memory.virtual': { name: 'process_memory_virtual_bytes', counter: false },
  'process.disk.io': { name: 'process_disk_io_bytes_total', counter: true },
  'process.thread.count': { name: 'process_thread_count', counter: false },
  'process.unix.file_descriptor.count': { name: 'process_unix_file_descriptor_count', counter: false },
  'process.context_switches': { name: 'process_context_switches_total', counter: true },
  'process.paging.faults': { name: 'process_paging_faults_total', counter: true },
  'process.uptime': { name: 'process_uptime_seconds', counter: false },
};

describe('Prometheus endpoint', () => {
  it('binds loopback on a free port when asked for port 0 and serves the tracked child under Prometheus names', async () => {
    const telemetry = await start();
    expect(telemetry.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(telemetry.prometheusUrl).not.toMatch(/:0\//);
    const tracker = track(telemetry);
    const child = spawnIdle();
    await tracker.track('worker', child.pid);

    const samples = await scrape(telemetry.prometheusUrl!);
    const gaugeLabels = { service_name: 'worker' };
    for (const { name } of Object.values(PROMETHEUS_NAMES)) {
      const found = samplesOf(samples, name, { service_name: 'worker' });
      expect(found.length, name).toBeGreaterThan(0);
      for (const sample of found) {
        for (const label of ['procmetrics_state', 'procmetrics_healthy', 'process_pid']) {
          expect(Object.keys(sample.labels), name).not.toContain(label);
        }
      }
    }
    expect(samplesOf(samples, 'process_memory_usage_bytes', gaugeLabels)[0]?.value).toBeGreaterThan(0);
    expect(samplesOf(samples, 'procmetrics_service_pid', { service_name: 'worker' })[0]?.value).toBe(child.pid);
  });

  it('with stateAttributes labels the process gauges with state and health, and never the counters', async () => {
    const telemetry = await start({ stateAttributes: true });
    const tracker = track(telemetry);
    const child = spawnIdle();
    await tracker.track('worker', child.pid);
    tracker.updateHealth('worker', false, 'timed out');
    const samples = await scrape(telemetry.prometheusUrl!);
    for (const { name, counter } of Object.values(PROMETHEUS_NAMES)) {
      for (const sample of samplesOf(samples, name, { service_name: 'worker' })) {
        if (counter) expect(Object.keys(sample.labels), name).not.toContain('procmetrics_state');
        else expect(sample.labels, name).toMatchObject({ procmetrics_state: 'running', procmetrics_healthy: 'false' });
      }
    }
    await expect(start({ stateAttributes: 'yes' as never })).rejects.toThrow(/options\.stateAttributes must be a boolean.*"yes"/);
  });

  it('drops the process series of a failed or untracked service from the next scrape, keeps its state, reports it unhealthy', async () => {
    const telemetry = await start();
    const tracker = track(telemetry);
    const [a, b] = [spawnIdle(), spawnIdle()];
    await tracker.track('a', a.pid);
    await tracker.track('b', b.pid);
    expect(samplesOf(await scrape(telemetry.prometheusUrl!), 'process_memory_usage_bytes')).toHaveLength(2);

    await killAndWait(a);
    tracker.updateState('a', 'failed', 'exit code 137');
    tracker.untrack('b');
    const samples = await scrape(telemetry.prometheusUrl!);
    expect(samples.filter((s) => s.name.startsWith('process_'))).toEqual([]);
    expect(samplesOf(samples, 'procmetrics_service_state', { service_name: 'a', procmetrics_state: 'failed' })[0]?.value).toBe(1);
    expect(samplesOf(samples, 'procmetrics_service_healthy', { service_name: 'a' })[0]?.value).toBe(0);
    expect(samplesOf(samples, 'procmetrics_service_pid', { service_name: 'a' })).toEqual([]);
    expect(samplesOf(samples, 'procmetrics_service_state', { service_name: 'b' })).toEqual([]);
  });

  it('keeps the counter series of a restarted service, shows the new pid and counts the restart', async () => {
    const telemetry = await start();
    const tracker = track(telemetry);
    const first = spawnIdle();
    await tracker.track('api', first.pid);
    const counters = (samples: Awaited<ReturnType<typeof scrape>>): string[] =>
      samples
        .filter((s) => s.name.startsWith('process_') && s.name.endsWith('_total'))
        .map((s) => `${s.name}${JSON.stringify(s.labels)}`)
        .sort();
    const before = counters(await scrape(telemetry.prometheusUrl!));
    expect(before.length).toBeGreaterThan(4);
    await killAndWait(first);
    const second = spawnIdle();
    await tracker.track('api', second.pid);
    tracker.updateHealth('api', false, 'exited with code 1');
    const samples = await scrape(telemetry.prometheusUrl!);
    expect(counters(samples)).toEqual(before);
    expect(samplesOf(samples, 'procmetrics_service_pid', { service_name: 'api' })[0]?.value).toBe(second.pid);
    expect(samplesOf(samples, 'procmetrics_service_restarts_total', { service_name: 'api' })[0]?.value).toBe(1);
    expect(samplesOf(samples, 'process_memory_usage_bytes', { service_name: 'api' }).map((s) => s.labels)).toEqual([
      { service_name: 'api' },
    ]);
  });

  it('exports every series of 1,500 services', async () => {
    const telemetry = await start();
    const source = new FakeSource();
    for (let i = 0; i < 1500; i++) source.set(fakeSnapshot({ serviceName: `svc-${i}`, pid: 10_000 + i }));
    const dispose = instrumentTracker(source, telemetry.meterProvider);
    cleanup.push(async () => dispose());
    const samples = await scrape(telemetry.prometheusUrl as string);
    // Two cpu.mode series per service.
    expect(samplesOf(samples, 'process_cpu_time_seconds_total').length).toBe(3000);
    expect(samples.some((s) => Object.keys(s.labels).some((label) => label.startsWith('otel_metric_overflow')))).toBe(false);
  });

  it('lets a hundred concurrent scrapes share one collection', async () => {
    const telemetry = await start();
    const source = new FakeSource();
    for (let i = 0; i < 2000; i++) source.set(fakeSnapshot({ serviceName: `svc-${i}`, pid: 10_000 + i }));
    // Only writing the exposition reads a snapshot's thread count: count the writes by it.
    let writes = 0;
    const watched = fakeSnapshot({ serviceName: 'watched' });
    Object.defineProperty(watched, 'numThreads', { get: () => ((writes += 1), 3) });
    source.set(watched);
    const dispose = instrumentTracker(source, telemetry.meterProvider);
    cleanup.push(async () => dispose());
    const bodies = await Promise.all(Array.from({ length: 100 }, async () => (await fetch(telemetry.prometheusUrl!)).text()));
    for (const body of bodies) expect(body.split('\n').filter((l) => l.startsWith('process_cpu_time_seconds_total{')).length).toBe(4002);
    expect(writes).toBe(1);
    // A new sample is a new snapshot object, and the next scrape writes anew.
    source.set(fakeSnapshot({ serviceName: 'svc-0', pid: 10_000, numThreads: 9 }));
    const samples = await scrape(telemetry.prometheusUrl!);
    expect(samplesOf(samples, 'process_thread_count', { service_name: 'svc-0' })[0]?.value).toBe(9);
    expect(writes).toBe(2);
    // Only the gzip body is kept: a scrape without gzip has the text written anew each time, the same text.
    const zipped = await getRaw(telemetry.prometheusUrl!, { 'accept-encoding': 'gzip' });
    expect(writes).toBe(2);
    const plain = [await getRaw(telemetry.prometheusUrl!, {}), await getRaw(telemetry.prometheusUrl!, {})];
    expect(writes).toBe(4);
    for (const { encoding, body } of plain) {
      expect(encoding).toBeUndefined();
      expect(body.equals(gunzipSync(zipped.body))).toBe(true);
    }
  });

  it('closes idle connections past its cap and still answers scrapes', async () => {
    const telemetry = await start();
    const url = new URL(telemetry.prometheusUrl!);
    const sockets = await Promise.all(
      Array.from({ length: ENDPOINT_LIMITS.maxConnections * 3 }, async () => {
        const socket = connect(Number(url.port), url.hostname);
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        return socket;
      }),
    );
    cleanup.push(async () => sockets.forEach((s) => s.destroy()));
    // Past their grace, idle connections make room for a scrape.
    await sleep(ENDPOINT_LIMITS.graceMs + 50);
    const response = await fetch(telemetry.prometheusUrl!);
    expect(response.status).toBe(200);
    await response.text();
    await waitFor(() => sockets.filter((s) => !s.destroyed && !s.readableEnded).length <= ENDPOINT_LIMITS.maxConnections, {
      what: 'the endpoint to hold at most its cap of connections',
    });
  });

  it('after a churn of 20,000 names (100 live) holds exactly the live series, and heap returns near its start', async () => {
    const gc = collectGarbage();
    const telemetry = await start();
    const tracker = new Tracker(defaultCollector(), { meterProvider: telemetry.meterProvider });
    cleanup.push(() => tracker.close());
    const round = async (r: number): Promise<string> => {
      for (let i = 0; i < 100; i++) tracker.register(`churn-${r}-${i}`, i % 2 === 0 ? 'failed' : 'stopped');
      const text = await (await fetch(telemetry.prometheusUrl!)).text();
      if (r < 199) for (let i = 0; i < 100; i++) tracker.untrack(`churn-${r}-${i}`);
      return text;
    };
    await round(-1);
    for (let i = 0; i < 100; i++) tracker.untrack(`churn--1-${i}`);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let last = '';
    for (let r = 0; r < 200; r++) last = await round(r);
    const samples = parseExposition(last);
    const states = samplesOf(samples, 'procmetrics_service_state');
    expect(new Set(states.map((s) => s.labels['service_name'])).size).toBe(100);
    expect(states.every((s) => s.labels['service_name']!.startsWith('churn-199-'))).toBe(true);
    expect(states).toHaveLength(500);
    expect(last).not.toContain('overflow');
    for (let i = 0; i < 100; i++) tracker.untrack(`churn-199-${i}`);
    await fetch(telemetry.prometheusUrl!).then((r) => r.text());
    gc();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(10 * 1024 * 1024);
  });

  it('has every self-metric from the start, and counts OTLP exports that fail', async () => {
    // A port nothing listens on: every push fails.
    const dead = await freePort();
    const telemetry = await start({
      exporters: ['prometheus', 'otlp'],
      otlp: { url: `http://127.0.0.1:${dead}`, exportIntervalMs: 100, exportTimeoutMs: 50 },
    });
    const tracker = new Tracker(defaultCollector(), { meterProvider: telemetry.meterProvider, collectionInterval: 1000 });
    cleanup.push(() => tracker.close());
    const first = await scrape(telemetry.prometheusUrl!);
    for (const name of [
      'procmetrics_tracker_ticks_total',
      'procmetrics_tracker_tick_duration_seconds_count',
      'procmetrics_tracker_interval_seconds',
      'procmetrics_tracker_sweep_cost_seconds',
      'procmetrics_collector_open_fds',
      'procmetrics_tracker_sample_errors_total',
      'procmetrics_tracker_process_exits_total',
      'procmetrics_tracker_snapshots_dropped_total',
      'procmetrics_exporter_failures_total',
    ]) {
      expect(samplesOf(first, name).length, name).toBeGreaterThan(0);
    }
    expect(samplesOf(first, 'procmetrics_tracker_interval_seconds')[0]?.value).toBe(1);
    expect(samplesOf(first, 'procmetrics_exporter_failures_total', { procmetrics_exporter: 'prometheus' })[0]?.value).toBe(0);
    await waitFor(
      async () =>
        (samplesOf(await scrape(telemetry.prometheusUrl!), 'procmetrics_exporter_failures_total', { procmetrics_exporter: 'otlp' })[0]
          ?.value ?? 0) >= 2,
      { what: 'two failed OTLP exports counted' },
    );
  });

  it('compresses the exposition for clients that take gzip, as Prometheus does, and not for others', async () => {
    const telemetry = await start();
    const tracker = track(telemetry);
    await tracker.track('zipped', spawnIdle().pid);
    await tracker.stop();
    const get = (headers: Record<string, string>) => getRaw(telemetry.prometheusUrl!, headers);
    const plain = await get({});
    const zipped = await get({ 'accept-encoding': 'gzip' });
    const refused = await get({ 'accept-encoding': 'gzip;q=0, identity' });
    expect(plain.encoding).toBeUndefined();
    expect(refused.encoding).toBeUndefined();
    expect(zipped.encoding).toBe('gzip');
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.body.length).toBeLessThan(plain.body.length / 3);
  });

  it('answers 404 off /metrics', async () => {
    const telemetry = await start();
    const response = await fetch(new URL('/other', telemetry.prometheusUrl));
    expect(response.status).toBe(404);
  });

  it('closes the port on shutdown', async () => {
    const telemetry = await startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 } });
    await fetch(telemetry.prometheusUrl!);
    await telemetry.shutdown();
    await expect(fetch(telemetry.prometheusUrl!)).rejects.toThrow();
    await telemetry.shutdown(); // idempotent
  });

  it('rejects with EADDRINUSE naming host:port when the port is taken', async () => {
    const blocker: Server = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    cleanup.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');

    const attempt = startTelemetry({ env: {}, diagLogger: null, prometheus: { port: address.port } });
    await expect(attempt).rejects.toMatchObject({
      code: 'EADDRINUSE',
      message: expect.stringContaining(`127.0.0.1:${address.port}`),
    });
  });

  it('honours OTEL_EXPORTER_PROMETHEUS_PORT and OTEL_METRICS_EXPORTER from options.env', async () => {
    const none = await start({ prometheus: undefined, env: { OTEL_METRICS_EXPORTER: 'none' } });
    expect(none.prometheusUrl).toBeUndefined();
    const viaEnv = await start({ prometheus: undefined, env: { OTEL_EXPORTER_PROMETHEUS_PORT: '0' } });
    expect(viaEnv.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  });

  it('rejects bad options with a typed error before binding anything', async () => {
    await expect(startTelemetry({ env: {}, diagLogger: null, prometheus: { port: -1 } })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
      message: expect.stringContaining('options.prometheus.port'),
    });
    await expect(startTelemetry({ env: { OTEL_METRICS_EXPORTER: 'statsd' }, diagLogger: null })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/OTEL_METRICS_EXPORTER.*"statsd"/),
    });
  });
});
