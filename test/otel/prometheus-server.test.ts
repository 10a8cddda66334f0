// A real Prometheus scrapes our endpoint; promtool lints our exposition.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import { startTelemetry, type Telemetry } from '../../src/otel/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAll, killAndWait, spawnIdle, waitFor } from '../support/process.js';
import { startWorkload } from '../collectors/workloads.js';
import { freePort } from '../support/net.js';
import { missingBinaries } from '../support/prometheus.js';
import { describeWhere } from '../support/requires.js';

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

describeWhere(missingBinaries(['prometheus', 'promtool']), 'real Prometheus', () => {
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
    // beforeAll may have failed before assigning them.
    /* eslint-disable @typescript-eslint/no-unnecessary-condition */
    if (prometheus !== undefined) await killAndWait(prometheus, 'SIGTERM');
    await tracker?.close();
    await telemetry?.shutdown();
    await killAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  async function query(promql: string): Promise<VectorResult[]> {
    const response = await fetch(`${prometheusBase}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; data?: { result: VectorResult[] } };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
    return body.data.result;
  }

  /** Polls until the query returns at least one series; scrapes land every second once Prometheus is up. */
  const queryUntilFound = (promql: string): Promise<VectorResult[]> =>
    waitFor(
      async () => {
        const result = await query(promql);
        return result.length > 0 && result;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: promql },
    );

  it('stores the series of a tracked child under Prometheus names, and follows state and health changes', async () => {
    const child = spawnIdle();
    await tracker.track('db', child.pid);

    const [memory] = await queryUntilFound(`process_memory_usage_bytes{service_name="db"}`);
    expect(memory?.metric).toMatchObject({
      job: 'procmetrics',
      service_name: 'db',
    });
    // One identity on every data point: state and health are joined from their own series.
    expect(Object.keys(memory?.metric ?? {}).sort()).toEqual(['__name__', 'instance', 'job', 'service_name']);
    expect(Number(memory?.value[1])).toBeGreaterThan(0);
    const [pid] = await queryUntilFound(`procmetrics_service_pid{service_name="db"}`);
    expect(Number(pid?.value[1])).toBe(child.pid);

    const cpu = await queryUntilFound(`process_cpu_time_seconds_total{service_name="db"}`);
    expect(cpu.map((r) => Object.keys(r.metric).sort())).toEqual([
      ['__name__', 'cpu_mode', 'instance', 'job', 'service_name'],
      ['__name__', 'cpu_mode', 'instance', 'job', 'service_name'],
    ]);

    tracker.updateHealth('db', false, 'exited with code 1');
    await queryUntilFound(`procmetrics_service_healthy{service_name="db"} == 0`);
    // The memory series goes on through the flip: still one series, now joinable with health 0.
    await queryUntilFound(`process_memory_usage_bytes{service_name="db"} and on (service_name) (procmetrics_service_healthy == 0)`);
    expect(await query(`count(count_over_time(process_memory_usage_bytes{service_name="db"}[1m]))`)).toMatchObject([
      { value: [expect.any(Number), '1'] },
    ]);

    tracker.updateState('db', 'failed', 'crashed');
    await queryUntilFound(`procmetrics_service_state{service_name="db", procmetrics_state="failed"} == 1`);
    await waitFor(async () => (await query(`process_memory_usage_bytes{service_name="db"}`)).length === 0, {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'the process series of a failed service to go stale',
    });
  });

  it('keeps one CPU series per mode across health flips and a restart, and rate() reads the CPU the process used', async () => {
    const duty = 30;
    const first = await startWorkload('burn.mjs', [String(duty)]);
    await tracker.track('burn', first.pid);
    await queryUntilFound(`process_cpu_time_seconds_total{service_name="burn"}`);
    await sleep(3000);
    tracker.updateHealth('burn', false, 'timed out');
    await sleep(1500);
    tracker.updateHealth('burn', true);
    await killAndWait(first);
    const second = await startWorkload('burn.mjs', [String(duty)]);
    await tracker.track('burn', second.pid);
    await sleep(1500);
    tracker.updateHealth('burn', false, 'timed out');
    await sleep(6000);

    const series = await query(`count_over_time(process_cpu_time_seconds_total{service_name="burn"}[1m])`);
    expect(series.map((r) => r.metric['cpu_mode']).sort()).toEqual(['system', 'user']);
    // Over a window that holds the restart and the health flips, rate() handles the reset and sees one process at 30 %.
    const [rate] = await query(`sum(rate(process_cpu_time_seconds_total{service_name="burn"}[12s]))`);
    expect(Number(rate?.value[1])).toBeGreaterThan((duty - 10) / 100);
    expect(Number(rate?.value[1])).toBeLessThan((duty + 10) / 100);
    const [restarts] = await query(`procmetrics_service_restarts_total{service_name="burn"}`);
    expect(Number(restarts?.value[1])).toBe(1);
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
