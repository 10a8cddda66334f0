// --label and the config file's labels, seen where users see them: a scrape of the
// endpoint and the --json lines of a real watch over real processes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { fetchMetrics, freePort, killAllCli, startCli, waitForSnapshot } from './cli.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-labels-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await killAllCli();
  await killAll();
});

describe('service labels in the command', () => {
  it('--label reaches every series of every service, and a config service keeps its own over it', async () => {
    const api = spawnIdle();
    const db = spawnIdle();
    const config = join(dir, 'labels.json');
    writeFileSync(config, JSON.stringify({ services: { db: { target: db.pid, labels: { tier: '1' } } } }));
    const port = await freePort();
    const cli = startCli([
      'watch',
      '-c',
      config,
      '-s',
      `api=${api.pid}`,
      '--label',
      'team=payments',
      '--label',
      'tier=3',
      '--interval',
      '200ms',
      '--json',
      '--prometheus',
      `127.0.0.1:${port}`,
    ]);
    const apiLine = await waitForSnapshot(cli, (s) => s.serviceName === 'api' && s.state === 'running', 'api running');
    expect(apiLine.labels).toEqual({ team: 'payments', tier: '3' });
    const dbLine = await waitForSnapshot(cli, (s) => s.serviceName === 'db' && s.state === 'running', 'db running');
    expect(dbLine.labels).toEqual({ team: 'payments', tier: '1' });

    const text = await waitFor(
      async () => {
        const scrape = await fetchMetrics(port);
        return scrape.includes('service_name="db"') && scrape.includes('service_name="api"') ? scrape : undefined;
      },
      { what: 'a scrape with both services' },
    );
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    const ofService = samples.filter((line) => line.includes('service_name="api"') || line.includes('service_name="db"'));
    expect(ofService.length).toBeGreaterThan(20);
    for (const line of ofService) {
      if (line.includes('service_name="api"')) expect(line, line).toContain('team="payments",tier="3"');
      else expect(line, line).toContain('team="payments",tier="1"');
    }
    // The tracker's own series have no service, so no service labels.
    expect(samples.filter((line) => line.startsWith('procmetrics_tracker_')).every((line) => !line.includes('team='))).toBe(true);
  });

  it('a bad --label exits 2 naming it, before anything starts', async () => {
    const idle = spawnIdle();
    const cli = startCli(['watch', '-s', `api=${idle.pid}`, '--label', 'service_name=x', '--prometheus', 'off']);
    expect((await cli.exited).code).toBe(2);
    expect(cli.stderr()).toMatch(/--label label name "service_name" is one procmetrics emits itself/);
  });
});
