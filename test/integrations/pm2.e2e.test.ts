// followPm2() and `watch --pm2` against a real PM2 daemon (the pm2 package from the registry) on a scratch PM2_HOME.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pm2UnreachableError, Tracker, followPm2, type Pm2Follow } from '../../src/index.js';
import { killAllCli, runCli, startCli, waitForSnapshot } from '../cli/cli.js';
import { waitFor } from '../support/process.js';
import { Pm2Daemon } from './pm2-daemon.js';

const daemon = new Pm2Daemon();
// Loading the pm2 module makes the folders of its default home (PM2's own doing): keep them in the scratch one.
vi.stubEnv('PM2_HOME', daemon.home);
const trackers: Tracker[] = [];
const follows: Pm2Follow[] = [];

beforeAll(async () => {
  await daemon.pm2('start', daemon.script, '--name', 'alpha');
  await daemon.pm2('start', daemon.script, '--name', 'beta');
  await daemon.pm2('start', daemon.script, '--name', 'gamma', '-i', '2');
  await waitFor(async () => (await daemon.list()).every((entry) => entry.pm2_env.status === 'online' && entry.pid > 0), {
    what: 'four PM2 processes online',
    timeoutMs: 30_000,
  });
}, 90_000);

afterEach(async () => {
  await killAllCli();
  for (const follow of follows.splice(0)) await follow.stop();
  for (const tracker of trackers.splice(0)) await tracker.close();
});

afterAll(async () => {
  await daemon.kill();
}, 60_000);

function newTracker(): Tracker {
  const tracker = new Tracker(undefined, { collectionInterval: 200, meterProvider: null });
  trackers.push(tracker);
  return tracker;
}

async function pidOf(pm2Name: string, instance = 0): Promise<number> {
  const entries = (await daemon.list()).filter((entry) => entry.name === pm2Name);
  return entries[instance]?.pid ?? 0;
}

describe('followPm2', () => {
  it("tracks every app instance under PM2's names, with its state, pid and restart count, and follows a restart", async () => {
    const tracker = newTracker();
    tracker.start();
    const follow = await followPm2(tracker, { home: daemon.home, intervalMs: 200 });
    follows.push(follow);
    expect(follow.home).toBe(daemon.home);
    expect(follow.services()).toEqual(['alpha', 'beta', 'gamma:0', 'gamma:1']);
    expect(tracker.get('alpha')).toMatchObject({ state: 'running', restartCount: 0, pid: await pidOf('alpha') });
    expect(tracker.get('gamma:1')).toMatchObject({ state: 'running', restartCount: 0, pid: await pidOf('gamma', 1) });
    expect(tracker.get('gamma:0')?.labels).toEqual({ pm2_id: expect.stringMatching(/^\d+$/), pm2_app: 'gamma' });

    const before = await pidOf('alpha');
    await daemon.pm2('restart', 'alpha');
    const after = await pidOf('alpha');
    expect(after).not.toBe(before);
    await waitFor(() => tracker.get('alpha')?.pid === after, { what: 'alpha followed to its new pid' });
    expect(tracker.get('alpha')).toMatchObject({ state: 'running', restartCount: 1 });
    expect(tracker.get('beta')?.restartCount).toBe(0);

    await daemon.pm2('stop', 'beta');
    // The tracker may see the exit first; PM2's list then says it was an orderly stop, which is no error.
    await waitFor(() => tracker.get('beta')?.state === 'stopped' && tracker.get('beta')?.lastError === '', { what: 'beta stopped' });
    expect(tracker.get('beta')).toMatchObject({ pid: 0, restartCount: 0 });

    await daemon.pm2('delete', 'beta');
    await waitFor(() => tracker.get('beta') === undefined, { what: 'beta untracked once PM2 forgot it' });
    expect(follow.services()).toEqual(['alpha', 'gamma:0', 'gamma:1']);
    expect(follow.errorCounts()).toEqual(new Map());
    await daemon.pm2('start', daemon.script, '--name', 'beta');
  }, 90_000);

  it("an app PM2 gave up on is failed, with PM2's restart count, though it was never seen running", async () => {
    await daemon.pm2('start', daemon.crashing);
    const errored = await waitFor(
      async () => (await daemon.list()).find((entry) => entry.name === 'delta' && entry.pm2_env.status === 'errored'),
      {
        what: 'delta errored in PM2',
        timeoutMs: 30_000,
      },
    );
    const tracker = newTracker();
    const follow = await followPm2(tracker, { home: daemon.home, intervalMs: 200 });
    follows.push(follow);
    expect(errored.pm2_env.restart_time).toBeGreaterThan(0);
    expect(tracker.get('delta')).toMatchObject({
      state: 'failed',
      pid: 0,
      restartCount: errored.pm2_env.restart_time,
      lastError: 'PM2 status errored',
    });
    await daemon.pm2('delete', 'delta');
  }, 60_000);

  it('rejects with Pm2UnreachableError naming the home when no daemon runs there, and starts none', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'procmetrics-pm2-none-'));
    try {
      const error = await followPm2(newTracker(), { home: empty, intervalMs: 200 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Pm2UnreachableError);
      expect(error).toMatchObject({ code: 'ERR_PROCMETRICS_PM2_UNREACHABLE', home: empty });
      expect((error as Error).message).toContain(JSON.stringify(empty));
      expect(existsSync(join(empty, 'rpc.sock'))).toBe(false);
      expect(existsSync(join(empty, 'pm2.pid'))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('followPm2 and a daemon that goes away', () => {
  it('counts the polls that could not reach it, keeps going, and follows the apps again once a daemon is back', async () => {
    const other = new Pm2Daemon();
    try {
      await other.pm2('start', other.script, '--name', 'solo');
      const tracker = newTracker();
      tracker.start();
      const follow = await followPm2(tracker, { home: other.home, intervalMs: 200 });
      follows.push(follow);
      const cli = startCli(['watch', '--pm2', '--json', '--interval', '200ms', '--prometheus', 'off'], { PM2_HOME: other.home });
      await waitForSnapshot(cli, (s) => s.serviceName === 'solo' && s.state === 'running', 'solo running in the command');
      const before = tracker.get('solo')?.pid ?? 0;
      expect(before).toBeGreaterThan(0);

      // The daemon dies (not `pm2 kill`, which deletes the apps first), and its app with it: the app keeps its name, stopped.
      process.kill(other.daemonPid(), 'SIGKILL');
      await waitFor(() => (follow.errorCounts().get('unreachable') ?? 0) >= 2, { what: 'polls counted as unreachable', timeoutMs: 20_000 });
      await waitFor(() => tracker.get('solo')?.state === 'stopped', { what: 'solo stopped with its daemon' });
      expect(tracker.get('solo')?.pid).toBe(0);
      expect(follow.services()).toEqual(['solo']);
      // The command counted the same, and says so once, at exit.
      await waitForSnapshot(cli, (s) => s.serviceName === 'solo' && s.state === 'stopped', 'solo stopped in the command');
      await waitFor(() => (follow.errorCounts().get('unreachable') ?? 0) >= 5, { what: 'more polls counted' });
      cli.child.kill('SIGTERM');
      expect((await cli.exited).code).toBe(0);
      // The poll in flight when the daemon died may fail on the list it asked for, the rest find no daemon.
      const prefix = `procmetrics: PM2 at PM2_HOME ${JSON.stringify(other.home)}: `;
      const lines = cli.stderr().trimEnd().split('\n');
      expect(lines).toContainEqual(expect.stringMatching(/: no daemon answered \d+ times$/));
      for (const line of lines) expect(line).toMatch(/: (no daemon answered|reading the list failed) (once|\d+ times)$/);
      for (const line of lines) expect(line.startsWith(prefix)).toBe(true);

      await other.pm2('start', other.script, '--name', 'solo');
      const after = await waitFor(
        () => {
          const snapshot = tracker.get('solo');
          return snapshot?.state === 'running' && snapshot.pid !== before && snapshot.pid;
        },
        { what: 'solo followed again in the new daemon', timeoutMs: 20_000 },
      );
      expect(after).toBe((await other.list())[0]?.pid);
    } finally {
      await other.kill();
    }
  }, 90_000);
});

describe('procmetrics watch --pm2', () => {
  it("prints every app instance under PM2's names, and a restart in PM2 increments its count", async () => {
    const cli = startCli(['watch', '--pm2', '--json', '--interval', '200ms', '--prometheus', 'off'], { PM2_HOME: daemon.home });
    const gammaPid = await pidOf('gamma', 0);
    for (const name of ['alpha', 'beta', 'gamma:0', 'gamma:1']) {
      await waitForSnapshot(cli, (s) => s.serviceName === name && s.state === 'running' && s.pid > 0, `${name} running`);
    }
    const gamma = await waitForSnapshot(cli, (s) => s.serviceName === 'gamma:0' && s.pid === gammaPid, 'gamma:0 at its pid');
    const counted = gamma.restartCount;
    await daemon.pm2('restart', 'gamma');
    const newPid = await pidOf('gamma', 0);
    // PM2 may list the new process as launching first: followed as starting, then running.
    const restarted = await waitForSnapshot(
      cli,
      (s) => s.serviceName === 'gamma:0' && s.pid === newPid && s.state === 'running',
      'gamma:0 running at its new pid',
    );
    expect(restarted.restartCount).toBe(counted + 1);
    expect(
      cli
        .snapshots()
        .filter((s) => s.serviceName === 'gamma:0' && s.pid === newPid)
        .every((s) => s.restartCount === counted + 1),
    ).toBe(true);
    expect(cli.stderr()).toBe('');
  }, 90_000);

  it('exits 2 with one line when no PM2 daemon is reachable', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'procmetrics-pm2-none-'));
    try {
      const { code, stderr } = await runCli(['watch', '--pm2', '--prometheus', 'off'], { PM2_HOME: empty });
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toEqual([expect.stringContaining(`no PM2 daemon reachable at PM2_HOME ${JSON.stringify(empty)}`)]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
