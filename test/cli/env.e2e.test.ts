// The standard OTEL_* variables as the command reads them, end to end.
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpHttpReceiver } from '../otlp/http-receiver.js';
import { flattenRequest } from '../otlp/receiver.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { fetchMetrics, freePort, killAllCli, startCli, waitForSnapshot } from './cli.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  await killAllCli();
  for (const step of cleanup.splice(0).reverse()) await step();
  await killAll();
});

describe('procmetrics and the OTEL_* variables', () => {
  it('serves /metrics on OTEL_EXPORTER_PROMETHEUS_HOST and _PORT; --prometheus wins over them', async () => {
    const idle = spawnIdle();
    const [fromEnv, fromFlag] = [await freePort(), await freePort()];
    const env = { OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: String(fromEnv) };
    const cli = startCli(['watch', '-s', `idle=${idle.pid}`, '-i', '200ms', '--json'], env);
    await waitFor(async () => (await fetchMetrics(fromEnv).catch(() => '')).includes('service_name="idle"'), {
      what: `idle in /metrics on port ${fromEnv}`,
    });
    cli.child.kill('SIGTERM');
    await cli.exited;

    const flagged = startCli(['watch', '-s', `idle=${idle.pid}`, '-i', '200ms', '--json', '--prometheus', String(fromFlag)], env);
    await waitFor(async () => (await fetchMetrics(fromFlag).catch(() => '')).includes('service_name="idle"'), {
      what: `idle in /metrics on port ${fromFlag}`,
    });
    await expect(fetchMetrics(fromEnv)).rejects.toThrow();
    flagged.child.kill('SIGTERM');
  });

  it('OTEL_METRICS_EXPORTER=otlp with http/protobuf pushes to an HTTP receiver and serves no /metrics', async () => {
    const receiver = await startOtlpHttpReceiver();
    cleanup.push(() => receiver.close());
    const idle = spawnIdle();
    const port = await freePort();
    const cli = startCli(['watch', '-s', `idle=${idle.pid}`, '-i', '200ms', '--json'], {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.base,
      OTEL_METRIC_EXPORT_INTERVAL: '300',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
    });
    await waitForSnapshot(cli, (s) => s.serviceName === 'idle' && s.pid === idle.pid, 'a snapshot of idle');
    const request = await waitFor(
      () => receiver.received.find((r) => flattenRequest(r.request).some((p) => p.attributes['service.name'] === 'idle')),
      { what: 'idle at the HTTP receiver' },
    );
    expect(request.path).toBe('/v1/metrics');
    await expect(fetchMetrics(port)).rejects.toThrow();
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it.each([
    ['a base URL', '', '/v1/metrics'],
    ['a base URL with a path', '/otlp', '/otlp/v1/metrics'],
    ['a URL ending in /v1/metrics', '/v1/metrics', '/v1/metrics'],
  ])('--otlp with %s and http/protobuf posts where OTEL_EXPORTER_OTLP_ENDPOINT would', async (_, path, expected) => {
    const receiver = await startOtlpHttpReceiver();
    cleanup.push(() => receiver.close());
    const idle = spawnIdle();
    const cli = startCli(
      ['watch', '-s', `idle=${idle.pid}`, '-i', '200ms', '--json', '--prometheus', 'off', '--otlp', receiver.base + path],
      {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_METRIC_EXPORT_INTERVAL: '300',
      },
    );
    await waitFor(() => receiver.received.length > 0, { what: `a push to the HTTP receiver; stderr: ${cli.stderr()}` });
    expect(new Set(receiver.received.map((r) => r.path))).toEqual(new Set([expected]));
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });
});
