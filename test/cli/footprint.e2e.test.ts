// What the command carries beyond its work: a Prometheus-only run loads no
// OpenTelemetry SDK (nor pidusage, nor the YAML parser), V8's young
// generation keeps its initial size unless the user tunes it (which heap
// flags are set is checked in heap-flags.test.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { CLI, fetchMetrics, freePort, killAllCli, startProcess, type CliProcess } from './cli.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';

const TRACE = new URL('./fixtures/trace-imports.mjs', import.meta.url).href;
const HEAP = new URL('./fixtures/heap-probe.mjs', import.meta.url).href;

const dirs: string[] = [];
afterEach(async () => {
  await killAllCli();
  await killAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `watch` of one idle process with `nodeFlags` and `args`, run until /metrics has it, then stopped. */
async function watchOnce(
  nodeFlags: readonly string[],
  args: readonly string[],
): Promise<{ cli: CliProcess; imported: string; youngMiB: number }> {
  const idle = spawnIdle();
  const dir = mkdtempSync(join(tmpdir(), 'procmetrics-footprint-'));
  dirs.push(dir);
  const trace = join(dir, 'imports.txt');
  const port = await freePort();
  const cli = startProcess(
    process.execPath,
    [
      ...nodeFlags,
      '--import',
      TRACE,
      '--import',
      HEAP,
      CLI,
      'watch',
      '-s',
      `a=${idle.pid}`,
      '-i',
      '200ms',
      '--prometheus',
      `127.0.0.1:${port}`,
      ...args,
    ],
    { TRACE_IMPORTS_TO: trace },
  );
  await waitFor(async () => (await fetchMetrics(port).catch(() => '')).includes('process_cpu_time_seconds_total{'), {
    what: `a scrape with the service; stderr: ${cli.stderr()}`,
  });
  cli.child.kill('SIGTERM');
  expect((await cli.exited).code).toBe(0);
  const young = /young-generation-mib (\S+)/.exec(cli.stderr());
  return { cli, imported: readFileSync(trace, 'utf8'), youngMiB: Number(young?.[1]) };
}

it('a Prometheus-only watch loads no OpenTelemetry SDK, pidusage or YAML parser, and its heap stays small', async () => {
  const { imported, youngMiB } = await watchOnce([], []);
  // The trace works: the pipeline's own modules are in it.
  expect(imported).toContain('/dist/otel/telemetry.js');
  expect(imported).not.toMatch(/sdk-metrics|exporter-|grpc|\/dist\/otel\/index\.js|\/dist\/otel\/sdk-parts\.js/);
  // Nor what other platforms (pidusage) and --discover (the YAML parser) need.
  expect(imported).not.toMatch(/node_modules\/(pidusage|yaml)\//);
  // V8's initial semi-space is 1 MiB (2 MiB of new space with its copy); a growing one reaches 16-32.
  expect(youngMiB).toBeGreaterThan(0);
  expect(youngMiB).toBeLessThanOrEqual(2);
});

it('loads the SDK when OTLP is on, and leaves a heap the user tuned alone', async () => {
  const collector = await freePort();
  const { imported, youngMiB } = await watchOnce(
    ['--semi-space-growth-factor=2', '--heap-growing-percent=300'],
    ['--otlp', `http://127.0.0.1:${collector}`],
  );
  expect(imported).toMatch(/@opentelemetry\/sdk-metrics/);
  expect(imported).toContain('/dist/otel/sdk-parts.js');
  expect(youngMiB).toBeGreaterThan(2);
});
