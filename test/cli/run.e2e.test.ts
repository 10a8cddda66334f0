import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/process.js';
import { freePort, isRunning, killAllCli, runCli, startCli, waitForSnapshot } from './cli.js';

const quiet = ['--json', '--prometheus', 'off', '-i', '200ms'];
let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-run-'));
});

afterEach(async () => {
  await killAllCli();
  rmSync(dir, { recursive: true, force: true });
});

/** A node one-liner as argv, so no shell quoting is involved. */
const nodeScript = (source: string): string[] => [process.execPath, '-e', source];

/** The --json lines of a finished run. */
const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { state: string; lastError: string; serviceName: string });

/** `run` of a long sleep as NAME, with a health command every INTERVAL. */
const runWithHealthCheck = (name: string, healthCmd: string, interval: string) =>
  startCli(['run', '--name', name, '--health-cmd', healthCmd, '--health-interval', interval, ...quiet, '--', 'sleep', '1000']);

describe('procmetrics run', () => {
  it('exits with the command exit code, and reports it as failed', async () => {
    const result = await runCli(['run', '--name', 'three', ...quiet, '--', ...nodeScript('setTimeout(() => process.exit(3), 300)')]);
    expect(result.code).toBe(3);
    const snapshots = jsonLines(result.stdout);
    expect(snapshots.some((s) => s.state === 'running')).toBe(true);
    expect(snapshots.at(-1)).toMatchObject({ serviceName: 'three', state: 'failed', lastError: 'exited with code 3' });
  });

  it('reports a command that cannot start, exit 127', async () => {
    const result = await runCli(['run', ...quiet, '--', join(dir, 'no-such-program')]);
    expect(result.code).toBe(127);
    expect(result.stdout).toContain('cannot start: ENOENT');
  });

  it('--restart on-failure restarts with a growing restart count and a new pid', async () => {
    const cli = startCli([
      'run',
      '--name',
      'flaky',
      '--restart',
      'on-failure',
      ...quiet,
      '--',
      ...nodeScript('setTimeout(() => process.exit(1), 150)'),
    ]);
    const second = await waitForSnapshot(cli, (s) => s.restartCount >= 2 && s.pid > 0, 'restart count 2');
    const pids = new Set(
      cli
        .snapshots()
        .filter((s) => s.pid > 0)
        .map((s) => s.pid),
    );
    expect(pids.size).toBeGreaterThanOrEqual(3);
    expect(cli.snapshots().some((s) => s.state === 'failed' && s.lastError === 'exited with code 1')).toBe(true);
    cli.child.kill('SIGTERM');
    await cli.exited;
    expect(isRunning(second.pid)).toBe(false);
  });

  it('SIGTERM stops the command and everything it started; a clean exit gives 0', async () => {
    const grandchildFile = join(dir, 'grandchild.pid');
    const cli = startCli([
      'run',
      '--name',
      'tree',
      ...quiet,
      '--',
      ...nodeScript(`
      process.on('SIGTERM', () => process.exit(0));
      const { spawn } = require('node:child_process');
      const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
      // Written last: once the test sees it, the SIGTERM handler is in place.
      require('node:fs').writeFileSync(${JSON.stringify(grandchildFile)}, String(sleeper.pid));
      setInterval(() => {}, 1000);
    `),
    ]);
    const running = await waitForSnapshot(cli, (s) => s.state === 'running', 'running');
    const grandchild = Number(
      await waitFor(() => existsSync(grandchildFile) && /^\d+$/.exec(readFileSync(grandchildFile, 'utf8'))?.[0], {
        what: 'grandchild pid',
      }),
    );
    expect(isRunning(grandchild)).toBe(true);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(isRunning(running.pid)).toBe(false);
    await waitFor(() => !isRunning(grandchild), { what: 'the grandchild to be gone' });
    expect(cli.snapshots().at(-1)).toMatchObject({ state: 'stopped', lastError: '' });
  });

  it('a command killed by the forwarded signal gives 128 + its number; the stop it asked for is no error', async () => {
    const cli = startCli(['run', ...quiet, '--', 'sleep', '1000']);
    const running = await waitForSnapshot(cli, (s) => s.state === 'running', 'running');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 130, signal: null });
    expect(isRunning(running.pid)).toBe(false);
    expect(cli.snapshots().at(-1)).toMatchObject({ state: 'stopped', lastError: '' });
    expect(cli.snapshots().map((s) => s.lastError)).toEqual(cli.snapshots().map(() => ''));
  });

  it('a clean exit is stopped with an empty lastError, exit 0', async () => {
    const result = await runCli(['run', '--name', 'done', ...quiet, '--', ...nodeScript('setTimeout(() => process.exit(0), 300)')]);
    expect(result.code).toBe(0);
    const snapshots = jsonLines(result.stdout);
    expect(snapshots.at(-1)).toMatchObject({ state: 'stopped', lastError: '' });
  });

  it('health follows the health command: starting and unhealthy until it passes', async () => {
    const okFile = join(dir, 'ok');
    const cli = runWithHealthCheck('api', `test -f '${okFile}'`, '200ms');
    await waitForSnapshot(cli, (s) => s.state === 'starting', 'starting');
    await waitForSnapshot(cli, (s) => s.pid > 0 && !s.healthy, 'unhealthy');
    // Starting from its very first snapshot: no running (or healthy) blip before a check has passed.
    expect(cli.snapshots()[0]?.state).toBe('starting');
    expect(cli.snapshots().filter((s) => s.state === 'running' || s.healthy)).toEqual([]);
    writeFileSync(okFile, '');
    await waitForSnapshot(cli, (s) => s.state === 'running' && s.healthy, 'running and healthy');
    rmSync(okFile);
    const seen = cli.snapshots().length;
    await waitFor(
      () =>
        cli
          .snapshots()
          .slice(seen)
          .find((s) => !s.healthy),
      { what: 'unhealthy again' },
    );
  });

  it('takes name, restart policy and health check from --config', async () => {
    const config = join(dir, 'run.json');
    writeFileSync(config, JSON.stringify({ name: 'fromfile', restart: 'on-failure', 'health-cmd': 'true', 'health-interval': '200ms' }));
    const cli = startCli(['run', '-c', config, ...quiet, '--', ...nodeScript('setTimeout(() => process.exit(1), 400)')]);
    const healthy = await waitForSnapshot(cli, (s) => s.state === 'running' && s.healthy, 'running and healthy');
    expect(healthy.serviceName).toBe('fromfile');
    await waitForSnapshot(cli, (s) => s.restartCount >= 1, 'a restart after the failure');
    expect(cli.snapshots()[0]?.state).toBe('starting');
  });

  it('says why a health check fails: its exit and the last line of its stderr, or its timeout', async () => {
    const failing = runWithHealthCheck('db', `sh -c 'echo "no route to db" >&2; exit 3'`, '200ms');
    const sick = await waitForSnapshot(failing, (s) => s.healthError !== '' && s.pid > 0, 'a failed check');
    expect(sick).toMatchObject({ healthy: false, healthError: 'exited with code 3: no route to db' });
    const hanging = runWithHealthCheck('slow', 'sleep 30', '300ms');
    const slow = await waitForSnapshot(hanging, (s) => s.healthError !== '', 'a timed-out check');
    expect(slow).toMatchObject({ healthy: false, healthError: 'timed out after 0.3s' });
  });

  it('a taken port is exit 2 before anything is started', async () => {
    const port = await freePort();
    const blocker = createServer().listen(port, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const marker = join(dir, 'started');
      const result = await runCli([
        'run',
        '--prometheus',
        `127.0.0.1:${port}`,
        '--',
        ...nodeScript(`require('node:fs').writeFileSync(${JSON.stringify(marker)}, '')`),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`procmetrics: --prometheus 127.0.0.1:${port}: port already in use\n`);
      expect(existsSync(marker)).toBe(false);
    } finally {
      blocker.close();
    }
  });
});
