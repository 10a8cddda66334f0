import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetrics, freePort, killAllCli, startProcess, waitForSnapshot } from '../cli/cli.js';
import { packFreshCheckout } from './pack.js';
import { REPO_ROOT, run } from './run.js';

/**
 * What a user gets: the tarball `npm pack` makes from a checkout without a
 * build, installed from the registry's point of view into a project of its own.
 */

const INSTALL_TIMEOUT_MS = 180_000;
const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline'];
const APP_API_VERSION = '1.9.0';
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

// Uses the library the way the README shows, on a free port, and reports what it saw.
const USER_SCRIPT = `
import { Tracker } from 'procmetrics';
import { startTelemetry } from 'procmetrics/otel';

const telemetry = await startTelemetry({ exporters: ['prometheus'], prometheus: { port: 0 }, diagLogger: null });
const tracker = new Tracker(undefined, { meterProvider: telemetry.meterProvider });
await tracker.track('self', process.pid);
const snapshot = tracker.get('self');
const exposition = await (await fetch(telemetry.prometheusUrl)).text();
await tracker.close();
await telemetry.shutdown();
console.log(JSON.stringify({
  pid: process.pid,
  snapshot,
  selfLines: exposition.split('\\n').filter((line) => line.includes('="self"')).length,
}));
`;

let work: string;
let project: string;
let packedFiles: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'procmetrics-pack-'));
  const packed = await packFreshCheckout(work);
  const tarball = packed.tarball;
  packedFiles = packed.files;

  project = join(work, 'project');
  mkdirSync(project);
  // The application brings its own API, an older patch than the one procmetrics is developed with.
  const dependencies = { '@opentelemetry/api': APP_API_VERSION };
  const manifest = { name: 'scratch', private: true, type: 'module', dependencies };
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest));
  await run('npm', ['install', ...NPM_QUIET, tarball], project);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await killAllCli();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the build, the license and the readme, and no source maps without their sources', () => {
    const besideDist = ['LICENSE', 'README.md', 'package.json'];
    expect(packedFiles).toEqual(expect.arrayContaining([...besideDist, 'dist/index.js', 'dist/index.d.ts']));
    expect(packedFiles).toContain('dist/otel/index.js');
    expect(packedFiles.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(packedFiles.filter((f) => !f.startsWith('dist/') && !besideDist.includes(f))).toEqual([]);
  });

  it('installs a working command: npx procmetrics --version prints the version', async () => {
    const { stdout } = await run('npx', ['--no', '--', 'procmetrics', '--version'], project);
    expect(stdout.trim()).toBe(pkg.version);
  });

  it('runs a command under the installed bin and serves its metrics through the SDK', async () => {
    const port = await freePort();
    const bin = join(project, 'node_modules', '.bin', 'procmetrics');
    const args = ['run', '--name', 'sleeper', '--prometheus', `127.0.0.1:${port}`, '--otlp', 'off', '--json'];
    const cli = startProcess(bin, [...args, '-i', '200ms', '--', 'sleep', '30']);
    await waitForSnapshot(cli, (s) => s.serviceName === 'sleeper' && s.state === 'running', 'sleeper running');
    expect(await fetchMetrics(port)).toContain('="sleeper"');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 143, signal: null });
  });

  it('asked to push OTLP without the optional OTLP exporter installed, the bin names the packages to install (exit 2)', async () => {
    const bin = join(project, 'node_modules', '.bin', 'procmetrics');
    const args = ['watch', '-s', `self=${process.pid}`, '--prometheus', 'off', '--otlp', 'http://127.0.0.1:4317'];
    const cli = startProcess(bin, args);
    expect(await cli.exited).toEqual({ code: 2, signal: null });
    expect(cli.stderr()).toContain('OTLP over grpc needs @opentelemetry/exporter-metrics-otlp-grpc and @grpc/grpc-js');
  });

  it('imports as ESM, tracks its own process and serves its metrics through the SDK', async () => {
    writeFileSync(join(project, 'use.mjs'), USER_SCRIPT);
    const { stdout } = await run(process.execPath, ['use.mjs'], project);
    const seen = JSON.parse(stdout) as {
      pid: number;
      snapshot: { pid: number; state: string; memory: { rss: number | null } } | undefined;
      selfLines: number;
    };
    expect(seen.snapshot?.pid).toBe(seen.pid);
    expect(seen.snapshot?.state).toBe('running');
    expect(seen.snapshot?.memory.rss).toBeGreaterThan(0);
    // The tracker's instruments reached the SDK's exporter: both use the project's one API.
    expect(seen.selfLines).toBeGreaterThan(0);
  });

  it("uses the application's own @opentelemetry/api: one copy in the project", async () => {
    const { stdout } = await run('npm', ['ls', '@opentelemetry/api', '--all', '--parseable'], project);
    const copies = new Set(stdout.split('\n').filter((line) => line !== ''));
    const top = join(project, 'node_modules', '@opentelemetry', 'api');
    expect([...copies]).toEqual([top]);
    expect(JSON.parse(readFileSync(join(top, 'package.json'), 'utf8'))).toMatchObject({ version: APP_API_VERSION });
  });
});
