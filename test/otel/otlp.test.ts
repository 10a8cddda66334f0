// startTelemetry pushing OTLP/gRPC to a real gRPC receiver, with the real Tracker, collector and children.
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import { METRICS } from '../../src/metrics/metric-table.js';
import { startTelemetry, type Telemetry, type TelemetryOptions } from '../../src/otel/index.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { flattenRequest, startOtlpReceiver, type OtlpReceiver, type ReceivedPoint } from '../otlp/receiver.js';
import { SEMCONV_PROCESS_METRICS } from './support.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await killAll();
});

async function receiver(port?: number, options?: { respond?: boolean }): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver(port, options);
  cleanup.push(() => r.close());
  return r;
}

async function telemetryTo(url: string, options: TelemetryOptions = {}): Promise<Telemetry> {
  const telemetry = await startTelemetry({
    env: {},
    diagLogger: null,
    exporters: ['otlp'],
    ...options,
    otlp: { url, exportIntervalMs: 60_000, ...options.otlp },
  });
  cleanup.push(() => telemetry.shutdown());
  return telemetry;
}

async function trackedChild(telemetry: Telemetry, service = 'worker'): Promise<{ tracker: Tracker; child: ReturnType<typeof spawnIdle> }> {
  const tracker = new Tracker(defaultCollector(), { meterProvider: telemetry.meterProvider, collectionInterval: 100 });
  cleanup.push(() => tracker.close());
  tracker.start();
  const child = spawnIdle();
  await tracker.track(service, child.pid);
  return { tracker, child };
}

const lastPoints = (r: OtlpReceiver): ReceivedPoint[] => {
  const last = r.received.at(-1);
  return last === undefined ? [] : flattenRequest(last.request);
};

describe('OTLP gRPC export', () => {
  it('delivers every metric with its name, unit, kind, attributes and the resource', async () => {
    const r = await receiver();
    const telemetry = await telemetryTo(r.url, {
      serviceName: 'my-supervisor',
      resourceAttributes: { 'deployment.environment.name': 'test' },
    });
    const { child } = await trackedChild(telemetry);
    await telemetry.forceFlush();

    const points = lastPoints(r);
    expect(points.length).toBeGreaterThan(0);
    for (const p of points) {
      expect(p.resource).toMatchObject({ 'service.name': 'my-supervisor', 'deployment.environment.name': 'test' });
      expect(p.scope.name).toBe('procmetrics');
      expect(p.scope.version).toMatch(/^\d+\.\d+\.\d+/);
    }
    for (const name of SEMCONV_PROCESS_METRICS)
      expect(
        points.map((p) => p.name),
        name,
      ).toContain(name);

    for (const row of METRICS) {
      const mine = points.filter((p) => p.name === row.name);
      if (row.name === 'procmetrics.tracker.read.errors') continue; // no read errors, no points
      // A pid target has no cgroup figures; these rows are checked on a cgroup snapshot in paths.test.ts.
      if (row.name.startsWith('procmetrics.cgroup.')) continue;
      expect(mine.length, row.name).toBeGreaterThan(0);
      for (const p of mine) {
        expect(p.unit, row.name).toBe(row.unit);
        expect(p.description, row.name).toBe(row.description);
        if (row.kind === 'histogram') {
          expect(p.kind, row.name).toBe('histogram');
          expect(p.temporality, row.name).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
          expect(p.histogram?.counts.length, row.name).toBe((p.histogram?.bounds.length ?? 0) + 1);
          expect(
            p.histogram?.counts.reduce((a, b) => a + b, 0),
            row.name,
          ).toBe(p.value);
          continue;
        }
        expect(p.encoding, row.name).toBe(row.valueType === 'int' ? 'asInt' : 'asDouble');
        if (row.kind === 'gauge') expect(p.kind, row.name).toBe('gauge');
        else {
          expect({ kind: p.kind, monotonic: p.monotonic }, row.name).toEqual({ kind: 'sum', monotonic: row.kind === 'counter' });
          expect(p.temporality, row.name).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
        }
      }
    }

    const cpu = points.filter((p) => p.name === 'process.cpu.time');
    expect(cpu.map((p) => p.attributes['cpu.mode']).sort()).toEqual(['system', 'user']);
    for (const p of points.filter((q) => q.name.startsWith('process.'))) {
      expect(p.attributes['service.name']).toBe('worker');
      expect(p.attributes).not.toHaveProperty('process.pid');
      expect(p.attributes, p.name).not.toHaveProperty('procmetrics.state');
      expect(p.attributes, p.name).not.toHaveProperty('procmetrics.healthy');
    }
    const rss = points.find((p) => p.name === 'process.memory.usage');
    expect(rss?.value).toBeGreaterThan(0);
    expect(points.find((p) => p.name === 'procmetrics.service.pid')?.value).toBe(child.pid);
  });

  it('sends the headers as gRPC metadata', async () => {
    const r = await receiver();
    const telemetry = await telemetryTo(r.url, { otlp: { headers: { 'x-api-key': 'k1' } } });
    await trackedChild(telemetry);
    await telemetry.forceFlush();
    expect(r.received.at(-1)?.metadata['x-api-key']).toBe('k1');
  });

  it('uses delta sums for counters when asked, keeping up-down counters cumulative', async () => {
    const r = await receiver();
    const telemetry = await telemetryTo(r.url, { env: { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta' } });
    await trackedChild(telemetry);
    await telemetry.forceFlush();
    const points = lastPoints(r);
    expect(points.find((p) => p.name === 'process.cpu.time')?.temporality).toBe('AGGREGATION_TEMPORALITY_DELTA');
    expect(points.find((p) => p.name === 'process.memory.usage')?.temporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
  });

  it('stops sending the process series of an untracked service', async () => {
    const r = await receiver();
    const telemetry = await telemetryTo(r.url);
    const { tracker } = await trackedChild(telemetry, 'gone');
    await telemetry.forceFlush();
    expect(lastPoints(r).some((p) => p.name === 'process.cpu.time')).toBe(true);
    tracker.untrack('gone');
    await telemetry.forceFlush();
    const after = lastPoints(r);
    expect(after.filter((p) => p.attributes['service.name'] === 'gone')).toEqual([]);
    expect(after.some((p) => p.name === 'procmetrics.tracker.ticks')).toBe(true);
  });

  it('flushes on shutdown', async () => {
    const r = await receiver();
    const telemetry = await telemetryTo(r.url);
    await trackedChild(telemetry);
    await telemetry.shutdown();
    expect(lastPoints(r).some((p) => p.name === 'process.memory.usage')).toBe(true);
  });

  it('exports the final states once more after the tracker is closed, as the pipeline shuts down', async () => {
    const r = await receiver();
    const telemetry = await telemetryTo(r.url);
    const { tracker } = await trackedChild(telemetry, 'api');
    await telemetry.forceFlush();
    tracker.updateState('api', 'stopped');
    await tracker.close();
    await telemetry.shutdown();
    const state = lastPoints(r).filter((p) => p.name === 'procmetrics.service.state' && p.value === 1);
    expect(state.map((p) => [p.attributes['service.name'], p.attributes['procmetrics.state']])).toEqual([['api', 'stopped']]);
  });

  it('delivers once a receiver that was down at start comes up', async () => {
    // Reserve a port, then free it: nothing listens there when export starts.
    const probe = await startOtlpReceiver();
    const port = probe.port;
    await probe.close();

    const logged: string[] = [];
    const log = (message: string) => void logged.push(message);
    const telemetry = await telemetryTo(`http://127.0.0.1:${port}`, {
      otlp: { exportIntervalMs: 200, exportTimeoutMs: 200 },
      diagLogger: { error: log, warn: log, info: log, debug: log, verbose: log },
    });
    await trackedChild(telemetry);
    await waitFor(() => logged.length > 0, { what: 'a logged export failure' });

    const r = await receiver(port);
    await waitFor(() => lastPoints(r).some((p) => p.name === 'process.cpu.time'), {
      timeoutMs: 25_000,
      intervalMs: 100,
      what: 'metrics at the receiver that came up late',
    });
    // Reported through diag as one line (not a JSON stack); diag.test.ts covers the rate limit.
    expect(logged[0]).toMatch(/export failed.*ECONNREFUSED/);
    expect(logged[0]).not.toContain('\n');
  });

  it('survives a receiver that never answers: exports time out, are reported, and shutdown still returns', async () => {
    const r = await receiver(undefined, { respond: false });
    const logged: string[] = [];
    const log = (message: string) => void logged.push(message);
    const telemetry = await telemetryTo(r.url, {
      otlp: { exportIntervalMs: 200, exportTimeoutMs: 150 },
      diagLogger: { error: log, warn: log, info: log, debug: log, verbose: log },
    });
    await trackedChild(telemetry);
    await waitFor(() => r.received.length >= 2, { what: 'two export attempts' });
    const reported = await waitFor(() => logged.find((m) => /export failed|timeout/i.test(m)), { what: 'a reported export timeout' });
    expect(reported).not.toContain('\n');
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
  });
});
