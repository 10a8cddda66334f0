// `watch -c FILE` with hundreds of services: every one taken on, reported and
// served, the first samples read together rather than one by one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { fetchMetrics, freePort, killAllCli, startCli } from './cli.js';

afterEach(async () => {
  await killAllCli();
  await killAll();
});

const SERVICES = 400;

describe('procmetrics watch -c with many services', () => {
  it(`takes on all ${SERVICES}, each with its own process, reported once running and served on /metrics`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'procmetrics-startup-'));
    try {
      const children = Array.from({ length: SERVICES }, () => spawnIdle());
      const config = join(dir, 'procmetrics.json');
      writeFileSync(config, JSON.stringify({ services: Object.fromEntries(children.map((child, i) => [`svc-${i}`, child.pid])) }));
      const port = await freePort();
      const cli = startCli(['watch', '-c', config, '-i', '5s', '--json', '--prometheus', `127.0.0.1:${port}`]);
      const pids = new Map<string, number>();
      await waitFor(
        () => {
          for (const snapshot of cli.snapshots()) if (snapshot.state === 'running') pids.set(snapshot.serviceName, snapshot.pid);
          return pids.size === SERVICES;
        },
        { what: `a running snapshot of all ${SERVICES} services`, timeoutMs: 60_000, intervalMs: 100 },
      );
      expect([...pids].sort(([a], [b]) => Number(a.slice(4)) - Number(b.slice(4)))).toEqual(
        children.map((child, i) => [`svc-${i}`, child.pid]),
      );
      const text = await fetchMetrics(port);
      for (const [i, child] of children.entries()) {
        expect(text).toContain(`procmetrics_service_pid{service_name="svc-${i}"} ${child.pid}\n`);
      }
      expect(cli.snapshots().some((snapshot) => snapshot.state === 'failed' || snapshot.lastError !== '')).toBe(false);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
      expect(cli.stderr()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
