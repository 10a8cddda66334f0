import { mkdtempSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { killAllCli, startCli, waitForSnapshot, type CliProcess } from './cli.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-pidfile-'));
});
afterEach(async () => {
  await killAllCli();
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits until `count` more snapshots of `name` than now have been printed; returns them. */
async function nextSnapshots(cli: CliProcess, name: string, count: number) {
  const seen = cli.snapshots().filter((s) => s.serviceName === name).length;
  await waitFor(() => cli.snapshots().filter((s) => s.serviceName === name).length >= seen + count, {
    what: `${count} more snapshots of ${name}`,
  });
  return cli
    .snapshots()
    .filter((s) => s.serviceName === name)
    .slice(seen);
}

describe('pid file targets do not invent stops and restarts', () => {
  it('a pid file emptied for a few intervals, then rewritten with the same pid: no stop, no restart', async () => {
    const idle = spawnIdle();
    const pidFile = join(dir, 'api.pid');
    writeFileSync(pidFile, `${idle.pid}\n`);
    const cli = startCli(['watch', '-s', `api=pidfile:${pidFile}`, '-i', '200ms', '--json', '--prometheus', 'off']);
    await waitForSnapshot(cli, (s) => s.pid === idle.pid && s.state === 'running', 'running');

    writeFileSync(pidFile, ''); // a non-atomic rewrite, caught half way
    const whileEmpty = await nextSnapshots(cli, 'api', 4);
    writeFileSync(pidFile, `${idle.pid}\n`);
    const after = await nextSnapshots(cli, 'api', 3);

    for (const snapshot of [...whileEmpty, ...after]) {
      expect(snapshot).toMatchObject({ pid: idle.pid, state: 'running', restartCount: 0 });
    }
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toMatch(
      /^procmetrics: api: pid file unusable (once|\d+ times) while its process ran on \(last: pid file .* does not hold a pid\)\n$/,
    );
  });

  it('a new pid while the old process still runs is a restart once two reads agree', async () => {
    const before = spawnIdle();
    const after = spawnIdle();
    const pidFile = join(dir, 'api.pid');
    writeFileSync(pidFile, `${before.pid}\n`);
    const cli = startCli(['watch', '-s', `api=pidfile:${pidFile}`, '-i', '200ms', '--json', '--prometheus', 'off']);
    await waitForSnapshot(cli, (s) => s.pid === before.pid, 'the first process');
    writeFileSync(pidFile, `${after.pid}\n`);
    const switched = await waitForSnapshot(cli, (s) => s.pid === after.pid, 'the new process');
    expect(switched).toMatchObject({ state: 'running', restartCount: 1 });
    expect(cli.snapshots().some((s) => s.state !== 'running')).toBe(false);
  });

  it('a stale pid file whose pid now belongs to a later process is stopped, not a restart', async () => {
    const idle = spawnIdle();
    const pidFile = join(dir, 'api.pid');
    writeFileSync(pidFile, `${idle.pid}\n`);
    // Written a minute before this process started: its process exited and the kernel handed the pid on.
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(pidFile, minuteAgo, minuteAgo);
    const cli = startCli(['watch', '-s', `api=pidfile:${pidFile}`, '-i', '200ms', '--json', '--prometheus', 'off']);
    const stale = await waitForSnapshot(cli, (s) => s.serviceName === 'api', 'the first snapshot');
    expect(stale).toMatchObject({ pid: 0, state: 'stopped', restartCount: 0 });
    expect(stale.lastError).toBe(`pid file ${pidFile}: process ${idle.pid} started after the file was written`);
    // Rewritten (its mtime is now): the file vouches for the process again.
    writeFileSync(pidFile, `${idle.pid}\n`);
    const followed = await waitForSnapshot(cli, (s) => s.pid === idle.pid, 'the process, once the file is rewritten');
    expect(followed).toMatchObject({ state: 'running', restartCount: 0 });
  });

  it('a pid file of 4 GiB is read as a prefix: its first line is followed', async () => {
    const idle = spawnIdle();
    const pidFile = join(dir, 'huge.pid');
    writeFileSync(pidFile, `${idle.pid}\n`);
    truncateSync(pidFile, 4 * 1024 ** 3); // sparse: no disk used
    const cli = startCli(['watch', '-s', `api=pidfile:${pidFile}`, '-i', '200ms', '--json', '--prometheus', 'off']);
    await waitForSnapshot(cli, (s) => s.pid === idle.pid && s.state === 'running', 'running');
    await nextSnapshots(cli, 'api', 3);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });
});
