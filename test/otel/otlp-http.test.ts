// startTelemetry pushing OTLP over HTTP (protobuf body) to a real HTTP receiver, and
// the export status it reports for either protocol.
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import { startTelemetry, type Telemetry, type TelemetryOptions } from '../../src/otel/index.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { startOtlpHttpReceiver, type OtlpHttpReceiver } from '../otlp/http-receiver.js';
import { flattenRequest, startOtlpReceiver } from '../otlp/receiver.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await killAll();
});

async function httpReceiver(status?: number): Promise<OtlpHttpReceiver> {
  const r = await startOtlpHttpReceiver(status === undefined ? {} : { status });
  cleanup.push(() => r.close());
  return r;
}

async function telemetryWith(options: TelemetryOptions): Promise<Telemetry> {
  const telemetry = await startTelemetry({ diagLogger: null, exporters: ['otlp'], env: {}, ...options });
  cleanup.push(() => telemetry.shutdown());
  return telemetry;
}

async function trackChild(telemetry: Telemetry): Promise<number> {
  const tracker = new Tracker(defaultCollector(), { meterProvider: telemetry.meterProvider, collectionInterval: 100 });
  cleanup.push(() => tracker.close());
  const child = spawnIdle();
  await tracker.track('worker', child.pid);
  return child.pid;
}

describe('OTLP over HTTP with a protobuf body', () => {
  it('posts ExportMetricsServiceRequest to the URL given, with the headers', async () => {
    const r = await httpReceiver();
    const telemetry = await telemetryWith({
      otlp: { protocol: 'http/protobuf', url: `${r.base}/v1/metrics`, headers: { 'x-api-key': 'k1' } },
    });
    const pid = await trackChild(telemetry);
    await telemetry.forceFlush();

    const last = r.received.at(-1);
    expect(last?.path).toBe('/v1/metrics');
    expect(last?.contentType).toBe('application/x-protobuf');
    expect(last?.headers['x-api-key']).toBe('k1');
    const points = last === undefined ? [] : flattenRequest(last.request);
    const cpu = points.filter((p) => p.name === 'process.cpu.time');
    expect(cpu.map((p) => p.attributes['cpu.mode']).sort()).toEqual(['system', 'user']);
    expect(cpu[0]?.attributes['service.name']).toBe('worker');
    expect(points.find((p) => p.name === 'procmetrics.service.pid')?.value).toBe(pid);
    expect(points[0]?.resource['service.name']).toBe('procmetrics');
  });

  it('is chosen by OTEL_EXPORTER_OTLP_PROTOCOL, appending /v1/metrics to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const r = await httpReceiver();
    const telemetry = await telemetryWith({
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: `${r.base}/` },
    });
    await trackChild(telemetry);
    await telemetry.forceFlush();
    expect(r.received.map((x) => x.path)).toContain('/v1/metrics');
    expect(telemetry.exportStatus()?.destination).toBe(`http/protobuf ${r.base}/v1/metrics`);
  });
});

describe('telemetry.exportStatus()', () => {
  it('is undefined without the OTLP exporter', async () => {
    const telemetry = await telemetryWith({ exporters: ['prometheus'], prometheus: { port: 0 } });
    expect(telemetry.exportStatus()).toBeUndefined();
  });

  it('records a successful push, with no error', async () => {
    const r = await httpReceiver();
    const telemetry = await telemetryWith({ otlp: { protocol: 'http/protobuf', url: `${r.base}/v1/metrics` } });
    expect(telemetry.exportStatus()).toEqual({
      destination: `http/protobuf ${r.base}/v1/metrics`,
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
      failures: 0,
    });
    await trackChild(telemetry);
    await telemetry.forceFlush();
    const status = telemetry.exportStatus();
    expect(status?.lastSuccessAt).toBeGreaterThan(0);
    expect(status?.failures).toBe(0);
  });

  it('counts failed pushes over HTTP and keeps the last error, without throwing', async () => {
    const r = await httpReceiver(400);
    const telemetry = await telemetryWith({ otlp: { protocol: 'http/protobuf', url: `${r.base}/v1/metrics` } });
    await trackChild(telemetry);
    await telemetry.forceFlush().catch(() => undefined);
    await waitFor(() => (telemetry.exportStatus()?.failures ?? 0) >= 1, { what: 'a counted failure' });
    const status = telemetry.exportStatus();
    expect(status?.lastError).toMatch(/400|Bad Request/);
    expect(status?.lastErrorAt).toBeGreaterThan(0);
    expect(status?.lastSuccessAt).toBeNull();
  });

  it('counts failed pushes over gRPC to a receiver that is down', async () => {
    const probe = await startOtlpReceiver();
    const url = probe.url;
    await probe.close();
    const telemetry = await telemetryWith({ otlp: { url, exportIntervalMs: 200, exportTimeoutMs: 200 } });
    await trackChild(telemetry);
    await waitFor(() => (telemetry.exportStatus()?.failures ?? 0) >= 2, { what: 'two counted failures' });
    expect(telemetry.exportStatus()?.destination).toBe(`grpc ${url}`);
    expect(telemetry.exportStatus()?.lastError).toMatch(/ECONNREFUSED|UNAVAILABLE|No connection/i);
  });
});
