import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, killAndWait, spawnChild, spawnIdle, waitFor } from '../support/process.js';
import { makeCgroup, missingForCgroups } from '../support/cgroup.js';
import { itWhere } from '../support/requires.js';
import { fetchMetrics, freePort, isRunning, killAllCli, startCli, waitForSnapshot } from './cli.js';

afterEach(async () => {
  await killAllCli();
  await killAll();
});

describe('procmetrics watch', () => {
  it('follows a pid, serves /metrics for it and leaves it alone on SIGTERM (exit 0)', async () => {
    const idle = spawnIdle();
    const port = await freePort();
    const cli = startCli(['watch', '--service', `idle=${idle.pid}`, '-i', '200ms', '--json', '--prometheus', `127.0.0.1:${port}`]);

    const first = await waitForSnapshot(cli, (s) => s.serviceName === 'idle' && s.pid === idle.pid, 'a snapshot of idle');
    expect(first).toMatchObject({ state: 'running', restartCount: 0 });
    expect(first.memory.rss).toBeGreaterThan(0);

    const metrics = await waitFor(
      async () => {
        const text = await fetchMetrics(port);
        return text.includes('service_name="idle"') && text;
      },
      { what: 'idle in /metrics' },
    );
    expect(metrics).toMatch(/process_memory_usage_bytes\{service_name="idle"\} \d+\n/);
    expect(metrics).toMatch(/procmetrics_service_state\{service_name="idle",procmetrics_state="running"\} 1\n/);
    expect(metrics).toContain(`procmetrics_service_pid{service_name="idle"} ${idle.pid}\n`);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(isRunning(idle.pid)).toBe(true);
    await expect(fetchMetrics(port)).rejects.toThrow();
  });

  /** `watch` of a pid file naming an idle process, once it follows that process. */
  async function watchingPidFile(
    test: (pidFile: string, first: ReturnType<typeof spawnIdle>, cli: ReturnType<typeof startCli>) => Promise<void>,
  ): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'procmetrics-'));
    try {
      const pidFile = join(dir, 'api.pid');
      const first = spawnIdle();
      writeFileSync(pidFile, `${first.pid}\n`);
      const cli = startCli(['watch', '-s', `api=pidfile:${pidFile}`, '-i', '200ms', '--json', '--prometheus', 'off']);
      await waitForSnapshot(cli, (s) => s.pid === first.pid && s.state === 'running', 'the first process');
      await test(pidFile, first, cli);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('re-reads a pid file: an external restart is a restart; a dead pid left in the file is failed, the file removed stopped', () =>
    watchingPidFile(async (pidFile, before, cli) => {
      const after = spawnIdle();
      writeFileSync(pidFile, `${after.pid}\n`);
      before.kill('SIGKILL');
      const restarted = await waitForSnapshot(cli, (s) => s.pid === after.pid, 'the restarted process');
      expect(restarted).toMatchObject({ state: 'running', restartCount: 1 });

      // Killed, its pid left in the file: it disappeared, which is a failure.
      after.kill('SIGKILL');
      const failed = await waitForSnapshot(
        cli,
        (s) => s.state === 'failed' && s.lastError.includes(`process ${after.pid} is not running`),
        'failed, the pid file naming a dead process',
      );
      expect(failed.pid).toBe(0);

      // The operator cleans up the stale file: from then on it is an intended stop, no error.
      rmSync(pidFile);
      await waitForSnapshot(cli, (s) => s.state === 'stopped' && s.lastError === '', 'stopped once the file is removed');
    }));

  it('a daemon that removes its pid file and exits is stopped, never failed', () =>
    watchingPidFile(async (pidFile, daemon, cli) => {
      rmSync(pidFile);
      await killAndWait(daemon);
      await waitForSnapshot(cli, (s) => s.state === 'stopped' && s.lastError === '', 'stopped');
      expect(cli.snapshots().filter((s) => s.state === 'failed')).toEqual([]);
    }));

  it('finds a process by pattern: stopped until it appears, then the oldest match, failed once every match is gone', async () => {
    // A sleep with a unique duration is a command line nothing else has.
    const seconds = `${100_000 + Math.floor(Math.random() * 100_000)}.5`;
    const pattern = `^sleep ${seconds.replace('.', '\\.')}$`;
    const port = await freePort();
    const cli = startCli(['watch', '-s', `sleeper=match:${pattern}`, '-i', '200ms', '--json', '--prometheus', `127.0.0.1:${port}`]);

    const absent = await waitForSnapshot(cli, (s) => s.state === 'stopped', 'stopped before it exists');
    expect(absent.lastError).toContain('no process matches');
    // Known to the exporters too, before it has ever had a process.
    const exported = await fetchMetrics(port);
    expect(exported).toMatch(/procmetrics_service_state\{[^}]*service_name="sleeper"[^}]*procmetrics_state="stopped"[^}]*\} 1/);

    const oldest = spawnChild('sleep', [seconds]);
    const found = await waitForSnapshot(cli, (s) => s.state === 'running', 'the match');
    expect(found.pid).toBe(oldest.pid);
    expect(found.restartCount).toBe(0);

    // A younger match does not take over: the target stays on the oldest.
    const younger = spawnChild('sleep', [seconds]);
    const seenBefore = cli.snapshots().length;
    await waitFor(() => cli.snapshots().length >= seenBefore + 3, { what: 'three more samples' });
    const later = cli.snapshots().slice(seenBefore);
    expect(later.every((s) => s.pid === oldest.pid && s.restartCount === 0)).toBe(true);
    expect(later.some((s) => s.pid === younger.pid)).toBe(false);

    // Every match gone after one was followed: it disappeared, which is a failure.
    expect(cli.snapshots().filter((s) => s.state === 'failed')).toEqual([]);
    await Promise.all([killAndWait(younger), killAndWait(oldest)]);
    // Whichever sees it first names it: the tracker's tick (the followed process exited)
    // or the watcher's next look (nothing matches). An exit is published once.
    const gone = await waitForSnapshot(cli, (s) => s.state === 'failed', 'failed once gone');
    expect(gone.lastError).toMatch(new RegExp(`^(process ${String(oldest.pid)} exited|no process matches /)`));
    // Three more looks of the watcher: none turns the disappearance into a stop.
    const seen = cli.snapshots().length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(
      cli
        .snapshots()
        .slice(seen)
        .filter((s) => s.state === 'stopped'),
    ).toEqual([]);
  });

  itWhere(missingForCgroups(), 'a watched cgroup that empties is failed, never stopped', async () => {
    const cgroup = makeCgroup();
    const inside = spawnIdle();
    try {
      cgroup.add(inside.pid);
      const cli = startCli(['watch', '-s', `db=cgroup:${cgroup.path}`, '-i', '200ms', '--json', '--prometheus', 'off']);
      await waitForSnapshot(cli, (s) => s.state === 'running' && s.pid > 0, 'the cgroup followed');
      await killAndWait(inside);
      await waitForSnapshot(cli, (s) => s.state === 'failed' && s.lastError.includes('has no process left'), 'failed once empty');
      expect(cli.snapshots().filter((s) => s.state === 'stopped')).toEqual([]);
    } finally {
      await killAndWait(inside);
      await cgroup.remove();
    }
  });
});
