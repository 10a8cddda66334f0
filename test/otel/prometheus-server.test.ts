// A real Prometheus scrapes our endpoint; promtool lints our exposition.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import { startTelemetry, type Telemetry } from '../../src/otel/index.js';
import { killAll, killAndWait, spawnIdle, waitFor } from '../support/process.js';

function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
}

const installed = onPath('prometheus') && onPath('promtool');
if (!installed) {
  if (process.env['CI'] === 'true') {
    describe('real Prometheus', () => {
      it('needs the prometheus and promtool binaries on CI', () => {
        expect.fail('prometheus/promtool not found on PATH (apt-get install prometheus)');
      });
    });
  } else {
    console.warn('skipping the real-Prometheus tests: prometheus/promtool not on PATH (apt-get install prometheus)');
  }
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(!installed)('real Prometheus', () => {
  let telemetry: Telemetry;
  let tracker: Tracker;
  let prometheus: ChildProcess;
  let prometheusBase: string;
  let dir: string;

  beforeAll(async () => {
    telemetry = await startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 } });
    tracker = new Tracker(defaultCollector(), { meterProvider: telemetry.meterProvider, collectionInterval: 250 });
    tracker.start();

    dir = mkdtempSync(join(tmpdir(), 'procmetrics-prom-'));
    const target = new URL(telemetry.prometheusUrl!).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: procmetrics',
        '    static_configs:',
        `      - targets: ['${target}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    prometheusBase = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
  });

  afterAll(async () => {
    if (prometheus !== undefined) await killAndWait(prometheus, 'SIGTERM');
    await tracker?.close();
    await telemetry?.shutdown();
    await killAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function query(promql: string): Promise<VectorResult[]> {
    const response = await fetch(`${prometheusBase}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; data?: { result: VectorResult[] } };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
    return body.data.result;
  }

  /** Polls until the query returns at least one series; scrapes land every second once Prometheus is up. */
  const queryUntilFound = (promql: string): Promise<VectorResult[]> =>
    waitFor(async () => {
      const result = await query(promql);
      return result.length > 0 && result;
    }, { timeoutMs: 30_000, intervalMs: 250, what: promql });

  it('stores the CPU and memory series of a tracked child with its identity labels, and follows state changes', async () => {
    const child = spawnIdle();
    await tracker.track('db', child.pid);
    const pid = String(child.pid);

    const [memory] = await queryUntilFound(`process_memory_usage{service_name="db"}`);
    expect(memory?.metric).toMatchObject({
      job: 'procmetrics',
      service_name: 'db',
      process_pid: pid,
      process_state: 'running',
      process_healthy: 'true',
    });
    expect(Number(memory?.value[1])).toBeGreaterThan(0);

    const cpu = await queryUntilFound(`process_cpu_time_total{service_name="db"}`);
    expect(cpu.map((r) => r.metric['cpu_mode']).sort()).toEqual(['system', 'user']);
    for (const r of cpu) expect(r.metric).toMatchObject({ process_pid: pid, process_state: 'running', process_healthy: 'true' });

    tracker.updateHealth('db', false);
    await queryUntilFound(`process_memory_usage{service_name="db", process_healthy="false"}`);
    // The old series ended with the scrape that no longer had it (a staleness marker).
    await waitFor(async () => (await query(`process_memory_usage{service_name="db", process_healthy="true"}`)).length === 0, {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'the healthy="true" series to go stale',
    });

    tracker.updateState('db', 'failed', 'crashed');
    await queryUntilFound(`procmetrics_service_state{service_name="db", process_state="failed"} == 1`);
    await waitFor(async () => (await query(`process_memory_usage{service_name="db"}`)).length === 0, {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'the process series of a failed service to go stale',
    });
  });

  it('serves an exposition promtool parses, whose only lint findings are the semconv *.count names', async () => {
    const child = spawnIdle();
    await tracker.track('lint', child.pid);
    const exposition = await (await fetch(telemetry.prometheusUrl!)).text();
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    // 0: clean; 3: lint findings only; anything else (1) is a format error.
    expect([0, 3], promtool.stderr + promtool.stdout).toContain(promtool.status);
    const findings = (promtool.stdout + promtool.stderr).split('\n').filter((line) => line.trim() !== '');
    // process.thread.count and process.unix.file_descriptor.count are semconv names; Prometheus
    // reserves _count for histograms and summaries. Anything else promtool says is ours to fix.
    const expected = /^process_(thread|unix_file_descriptor)_count non-histogram and non-summary metrics should not have "_count" suffix$/;
    for (const line of findings) expect(line).toMatch(expected);
  });
});
