// startTelemetry with its Prometheus endpoint, through the real Tracker, collector and child processes.
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import { startTelemetry, type Telemetry, type TelemetryOptions } from '../../src/otel/index.js';
import { killAll, killAndWait, spawnIdle, waitFor } from '../support/process.js';
import { FakeSource, SEMCONV_PROCESS_METRICS, fakeSnapshot } from './support.js';
import { instrumentTracker } from '../../src/otel/instruments.js';
import { samplesOf, scrape } from './exposition.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await killAll();
});

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

/** The Prometheus name of an OTel metric: dots to underscores, _total on counters. */
const promName = (name: string, counter: boolean) => name.replaceAll('.', '_') + (counter ? '_total' : '');

describe('Prometheus endpoint', () => {
  it('binds loopback on a free port when asked for port 0 and serves the tracked child', async () => {
    const telemetry = await start();
    expect(telemetry.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(telemetry.prometheusUrl).not.toMatch(/:0\//);
    const tracker = track(telemetry);
    const child = spawnIdle();
    await tracker.track('worker', child.pid);

    const samples = await scrape(telemetry.prometheusUrl!);
    const labels = { service_name: 'worker', process_pid: String(child.pid), process_state: 'running', process_healthy: 'true' };
    for (const name of SEMCONV_PROCESS_METRICS) {
      const counter = ['process.cpu.time', 'process.disk.io', 'process.context_switches', 'process.paging.faults'].includes(name);
      expect(samplesOf(samples, promName(name, counter), labels).length, name).toBeGreaterThan(0);
    }
    const [rss] = samplesOf(samples, 'process_memory_usage', labels);
    expect(rss?.value).toBeGreaterThan(0);
  });

  it('drops the process series of a failed or untracked service from the next scrape, keeps its state', async () => {
    const telemetry = await start();
    const tracker = track(telemetry);
    const [a, b] = [spawnIdle(), spawnIdle()];
    await tracker.track('a', a.pid);
    await tracker.track('b', b.pid);
    expect(samplesOf(await scrape(telemetry.prometheusUrl!), 'process_memory_usage')).toHaveLength(2);

    await killAndWait(a);
    tracker.updateState('a', 'failed', 'exit code 137');
    tracker.untrack('b');
    const samples = await scrape(telemetry.prometheusUrl!);
    expect(samples.filter((s) => s.name.startsWith('process_'))).toEqual([]);
    expect(samplesOf(samples, 'procmetrics_service_state', { service_name: 'a', process_state: 'failed' })[0]?.value).toBe(1);
    expect(samplesOf(samples, 'procmetrics_service_state', { service_name: 'b' })).toEqual([]);
  });

  it('starts a new series with the new pid when a service restarts, and counts the restart', async () => {
    const telemetry = await start();
    const tracker = track(telemetry);
    const first = spawnIdle();
    await tracker.track('api', first.pid);
    await killAndWait(first);
    const second = spawnIdle();
    await tracker.track('api', second.pid);
    const samples = await waitFor(
      async () => {
        const s = await scrape(telemetry.prometheusUrl!);
        return samplesOf(s, 'process_memory_usage', { service_name: 'api' }).length === 1 && s;
      },
      { what: 'one memory series for api' },
    );
    expect(samplesOf(samples, 'process_memory_usage', { service_name: 'api' })[0]?.labels['process_pid']).toBe(String(second.pid));
    expect(samplesOf(samples, 'procmetrics_service_restarts_total', { service_name: 'api' })[0]?.value).toBe(1);
  });

  it('exports every series of 1,500 services, past the SDK default of 2,000 per instrument', async () => {
    const telemetry = await start();
    const source = new FakeSource();
    for (let i = 0; i < 1500; i++) source.set(fakeSnapshot({ serviceName: `svc-${i}`, pid: 10_000 + i }));
    const dispose = instrumentTracker(source, telemetry.meterProvider);
    cleanup.push(async () => dispose());
    const samples = await scrape(telemetry.prometheusUrl as string);
    // Two cpu.mode series per service: 3,000 for one instrument.
    expect(samplesOf(samples, 'process_cpu_time_total').length).toBe(3000);
    expect(samples.some((s) => Object.keys(s.labels).some((label) => label.startsWith('otel_metric_overflow')))).toBe(false);
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
