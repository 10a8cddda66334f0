import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessMetrics } from '../../src/core/metrics.js';
import { killAll, spawnIdle } from '../support/process.js';
import { CLI, killAllCli, runCli, startProcess } from './cli.js';

afterEach(async () => {
  await killAllCli();
  await killAll();
});

/** A pid no process has: beyond the kernel's largest. */
const MISSING_PID = 4_194_304;

describe('procmetrics watch --once', () => {
  it('prints one parseable JSON snapshot per target and exits 0', async () => {
    const a = spawnIdle();
    const b = spawnIdle();
    const result = await runCli(['watch', '--once', '--json', '-s', `a=${a.pid}`, '-s', `b=${b.pid}`]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const snapshots = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ProcessMetrics);
    expect(snapshots.map((s) => [s.serviceName, s.pid, s.state])).toEqual([
      ['a', a.pid, 'running'],
      ['b', b.pid, 'running'],
    ]);
    expect(snapshots[0]?.memory.rss).toBeGreaterThan(0);
  });

  it('prints plain lines without --json', async () => {
    const a = spawnIdle();
    const result = await runCli(['watch', '--once', '-s', `a=${a.pid}`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^\\S+ a pid=${a.pid} state=running health=ok cpu=[\\d.]+% rss=\\S+ `));
  });

  it('exits 1 when a target does not exist, after printing the ones that do', async () => {
    const a = spawnIdle();
    const result = await runCli([
      'watch',
      '--once',
      '--json',
      '-s',
      `a=${a.pid}`,
      '-s',
      `gone=${MISSING_PID}`,
      '-s',
      'nomatch=match:^no such command line$',
    ]);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout.trim()) as ProcessMetrics).pid).toBe(a.pid);
    expect(result.stderr).toContain(`procmetrics: --service gone=${MISSING_PID}: no process with pid ${MISSING_PID}`);
    expect(result.stderr).toContain('procmetrics: --service nomatch=match:^no such command line$: no process matches');
  });

  it('takes services and options from a config file, flags winning', async () => {
    const a = spawnIdle();
    const b = spawnIdle();
    const dir = mkdtempSync(join(tmpdir(), 'procmetrics-config-'));
    try {
      const config = join(dir, 'procmetrics.json');
      writeFileSync(config, JSON.stringify({ json: false, services: { a: a.pid, b: `pidfile:${join(dir, 'b.pid')}` } }));
      writeFileSync(join(dir, 'b.pid'), `${b.pid}\n`);
      const result = await runCli(['watch', '--once', '--json', '--config', config, '-s', `a=${b.pid}`]);
      expect(result.code).toBe(0);
      const snapshots = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as ProcessMetrics);
      expect(snapshots.map((s) => [s.serviceName, s.pid]).sort()).toEqual([
        ['a', b.pid],
        ['b', b.pid],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads neither the OTel SDK nor gRPC nor protobuf: it starts no exporter', async () => {
    const idle = spawnIdle();
    const dir = mkdtempSync(join(tmpdir(), 'procmetrics-once-'));
    const trace = join(dir, 'imports.txt');
    try {
      const hook = new URL('./fixtures/trace-imports.mjs', import.meta.url).href;
      const cli = startProcess(process.execPath, ['--import', hook, CLI, 'watch', '--once', '-s', `a=${idle.pid}`], {
        TRACE_IMPORTS_TO: trace,
      });
      expect((await cli.exited).code).toBe(0);
      const imported = readFileSync(trace, 'utf8');
      // The trace works: the command's own modules are in it.
      expect(imported).toContain('/dist/cli/watch/command.js');
      expect(imported).not.toMatch(/sdk-metrics|exporter-|grpc|protobuf|\/dist\/otel\/index\.js/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
