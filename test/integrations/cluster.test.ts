// trackClusterWorkers() inside a real node:cluster primary (test/fixtures/cluster/primary.mjs, run
// from dist/: `npm run build` first), watched through the snapshots it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import cluster from 'node:cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentTypeError, InvalidArgumentValueError, Tracker, trackClusterWorkers, type ProcessMetrics } from '../../src/index.js';
import { waitFor } from '../support/process.js';

const PRIMARY = fileURLToPath(new URL('../fixtures/cluster/primary.mjs', import.meta.url));
let running: ChildProcess | undefined;

afterEach(async () => {
  if (running && running.exitCode === null && running.signalCode === null) {
    const exited = once(running, 'exit');
    // The primary and its workers: it runs in a process group of its own.
    process.kill(-(running.pid ?? 0), 'SIGKILL');
    await exited;
  }
  running = undefined;
});

/** The primary, with every snapshot it printed so far. */
function startPrimary(): { child: ChildProcess; snapshots: ProcessMetrics[] } {
  const child = spawn(process.execPath, [PRIMARY], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  running = child;
  const snapshots: ProcessMetrics[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) snapshots.push(JSON.parse(line) as ProcessMetrics);
  });
  return { child, snapshots };
}

function seen(snapshots: readonly ProcessMetrics[], what: string, probe: (s: ProcessMetrics) => boolean): Promise<ProcessMetrics> {
  return waitFor(() => snapshots.find(probe), { what, timeoutMs: 10_000 });
}

describe('trackClusterWorkers', () => {
  it('tracks each worker by slot: a killed worker fails its slot, its replacement is a restart of it, an exit 0 stops it', async () => {
    const { child, snapshots } = startPrimary();
    const first = await seen(snapshots, 'web:0 running', (s) => s.serviceName === 'web:0' && s.state === 'running');
    await seen(snapshots, 'web:1 running', (s) => s.serviceName === 'web:1' && s.state === 'running');
    expect(first).toMatchObject({ restartCount: 0, labels: { role: 'http' } });
    expect(first.pid).toBeGreaterThan(0);

    process.kill(first.pid, 'SIGKILL');
    const failed = await seen(
      snapshots,
      'web:0 failed',
      (s) => s.serviceName === 'web:0' && s.state === 'failed' && s.lastError.includes('SIGKILL'),
    );
    expect(failed.lastError).toMatch(/^worker \d+ killed by SIGKILL$/);
    const replaced = await seen(
      snapshots,
      'web:0 running in a new worker',
      (s) => s.serviceName === 'web:0' && s.state === 'running' && s.pid !== first.pid,
    );
    expect(replaced.restartCount).toBe(1);

    child.stdin?.write('quit web:1\n');
    const stopped = await seen(snapshots, 'web:1 stopped', (s) => s.serviceName === 'web:1' && s.state === 'stopped' && s.lastError === '');
    expect(stopped).toMatchObject({ pid: 0, restartCount: 0 });
    expect(snapshots.filter((s) => s.serviceName === 'web:1').every((s) => s.restartCount === 0 && s.state !== 'failed')).toBe(true);
    expect(snapshots.some((s) => s.serviceName === 'web:2')).toBe(false);

    const exited = once(child, 'exit');
    child.stdin?.write('stop\n');
    expect(await exited).toEqual([0, null]);
  }, 30_000);

  it('refuses a bad name, bad labels and something that is not a cluster, naming the argument', () => {
    const tracker = new Tracker(undefined, { meterProvider: null });
    expect(() => trackClusterWorkers(tracker, cluster, { name: '' })).toThrow(InvalidArgumentValueError);
    expect(() => trackClusterWorkers(tracker, cluster, { name: '' })).toThrow(/^options\.name must not be empty/);
    expect(() => trackClusterWorkers(tracker, cluster, { name: 'web', labels: { 'bad-name': 'x' } })).toThrow(/^options\.labels/);
    expect(() => trackClusterWorkers(tracker, Object.create(null) as typeof cluster, { name: 'web' })).toThrow(InvalidArgumentTypeError);
    expect(() => trackClusterWorkers(tracker, Object.create(null) as typeof cluster, { name: 'web' })).toThrow(
      /^cluster must be node:cluster/,
    );
    void tracker.close();
  });
});
