// A real Prometheus (and its promtool) for tests: found on PATH, started on loopback.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { killAndWait, waitFor } from './process.js';
import { unavailable } from './requires.js';

export function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
}

/**
 * Whether all `binaries` are installed. Where they are not, CI gets a failing
 * test (the suite must not pass by skipping) and a developer machine a warning.
 */
export function requireBinaries(binaries: readonly string[], suite: string): boolean {
  const missing = missingBinaries(binaries);
  return missing === undefined || unavailable(suite, missing);
}

/** What is missing of `binaries` (prometheus, promtool), or undefined when all are on PATH: for describeWhere(). */
export function missingBinaries(binaries: readonly string[]): string | undefined {
  const missing = binaries.filter((binary) => !onPath(binary));
  if (missing.length === 0) return undefined;
  return `needs ${binaries.join(' and ')}: ${missing.join(', ')} not found on PATH (apt-get install prometheus)`;
}

/** Debian's python3, whose packages (python3-prometheus-client) the tests may use. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Whether Debian's python3 can import `module`; as requireBinaries where it cannot. */
export function requirePythonModule(module: string, debianPackage: string, suite: string): boolean {
  if (spawnSync(SYSTEM_PYTHON, ['-c', `import ${module}`]).status === 0) return true;
  return unavailable(suite, `needs python3 module ${module}: ${SYSTEM_PYTHON} cannot import ${module} (apt-get install ${debianPackage})`);
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  readonly base: string;
  /** An instant query; throws with Prometheus's error when it rejects the expression. */
  query(promql: string): Promise<Sample[]>;
  /** A range query from `startS` to `endS` (seconds since epoch), one point per `stepS`. */
  queryRange(promql: string, startS: number, endS: number, stepS: number): Promise<RangeSeries[]>;
  /** Polls until the query returns at least one series. */
  queryUntilFound(promql: string, timeoutMs?: number): Promise<Sample[]>;
  /** GET of an API path (e.g. /api/v1/rules), its `data` field. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** host:port of the endpoint (or endpoints) to scrape every second. */
  target: string | readonly string[];
  /** Absolute paths of rule files, evaluated every second. */
  ruleFiles?: readonly string[];
}

export async function startPrometheus({ target, ruleFiles = [] }: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'procmetrics-prom-'));
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: procmetrics',
    '    static_configs:',
    `      - targets: [${(typeof target === 'string' ? [target] : target).map((t) => `'${t}'`).join(', ')}]`,
    ...(ruleFiles.length > 0 ? ['rule_files:', ...ruleFiles.map((file) => `  - '${file}'`)] : []),
    '',
  ];
  writeFileSync(join(dir, 'prometheus.yml'), config.join('\n'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Prometheus logs to stderr; the tail explains an exit (a bad rule file, a port taken).
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-4000);
  });

  async function api<T>(path: string): Promise<T> {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${log}`);
    const response = await fetch(`${base}${path}`);
    const body = (await response.json()) as { status: string; data?: T; error?: string };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`${path}: ${body.error ?? JSON.stringify(body)}`);
    return body.data;
  }
  const query = async (promql: string): Promise<Sample[]> =>
    (await api<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result;

  return {
    base,
    api,
    query,
    queryRange: async (promql, startS, endS, stepS) =>
      (
        await api<{ result: RangeSeries[] }>(
          `/api/v1/query_range?query=${encodeURIComponent(promql)}&start=${startS}&end=${endS}&step=${stepS}`,
        )
      ).result,
    queryUntilFound: (promql, timeoutMs = 30_000) =>
      waitFor(
        async () => {
          const result = await query(promql);
          return result.length > 0 && result;
        },
        { timeoutMs, intervalMs: 250, what: promql },
      ),
    async stop() {
      await killAndWait(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
