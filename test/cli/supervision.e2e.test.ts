import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProcessMetrics } from '../../src/core/metrics.js';
import { missingForCgroups } from '../support/cgroup.js';
import { waitFor } from '../support/process.js';
import { itWhere } from '../support/requires.js';
import { AS_NOBODY, NOBODY, cliFor, missingForUsers } from '../support/users.js';
import { fetchMetrics, freePort, killAllCli, runCli, startCli, startProcess, waitForSnapshot } from './cli.js';

/**
 * `run` as a supervisor: health checks that restart, a restart limit, and
 * limits on the command's cgroup with the OOM kills they cause, all through
 * the real command and real processes.
 */
const quiet = ['--json', '--prometheus', 'off', '-i', '200ms'];
const MIB = 2 ** 20;
let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-supervise-'));
});

afterEach(async () => {
  await killAllCli();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A health command that counts its own calls in a file and fails (exit 1,
 * `not ready` on stderr) on the calls `failing` (a shell test of `$n`) says,
 * passing on the others. A shell, not node: a check must start well within
 * its 200 ms interval on a loaded machine, or it times out and fails anyway.
 */
function countingCheck(failing: string): string {
  const counter = join(dir, 'calls');
  return `sh -c 'n=$(( $(cat ${counter} 2>/dev/null || echo 0) + 1 )); echo $n > ${counter}; if ${failing}; then echo "not ready" >&2; exit 1; fi'`;
}

const checkCalls = (): number => {
  try {
    return Number(readFileSync(join(dir, 'calls'), 'utf8'));
  } catch {
    return 0;
  }
};

/** `run` of a long sleep with `check` every 200 ms, restarted after 3 failures in a row. */
const superviseWithCheck = (check: string) =>
  startCli([
    'run',
    '--name',
    'api',
    '--health-cmd',
    check,
    '--health-interval',
    '200ms',
    '--health-failures',
    '3',
    ...quiet,
    '--',
    'sleep',
    '1000',
  ]);

/** The last --json line of a finished run. */
const finalSnapshot = (stdout: string): ProcessMetrics =>
  lastOf(
    stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ProcessMetrics),
  );

const lastOf = (snapshots: readonly ProcessMetrics[]): ProcessMetrics => {
  const last = snapshots.at(-1);
  if (last === undefined) throw new Error('no snapshot');
  return last;
};

describe('run: health checks that restart', () => {
  it('restarts a service whose check fails 3 times in a row, once per incident', async () => {
    const check = countingCheck('[ $n -le 3 ]');
    const cli = superviseWithCheck(check);
    const first = await waitForSnapshot(cli, (s) => s.pid > 0, 'the first process');
    const restarted = await waitForSnapshot(cli, (s) => s.restartCount === 1 && s.state === 'running', 'running again after the restart');
    expect(restarted.pid).not.toBe(first.pid);
    expect(restarted.healthRestarts).toBe(1);
    expect(restarted.healthy).toBe(true);
    // The restart said why, with what the check wrote.
    expect(
      cli
        .snapshots()
        .some((s) => s.state === 'failed' && s.lastError === 'health check failed 3 times in a row (exited with code 1: not ready)'),
    ).toBe(true);
    // The incident is over: more passing checks, and nothing more happens.
    const calls = checkCalls();
    await waitFor(() => checkCalls() >= calls + 4, { what: '4 more checks' });
    const last = lastOf(cli.snapshots());
    expect(last).toMatchObject({ state: 'running', restartCount: 1, healthRestarts: 1, pid: restarted.pid });
  });

  it('does not restart for failures that are not in a row', async () => {
    // Calls 1, 2 fail, 3 passes, 4, 5 fail, 6 passes...: never three in a row.
    const check = countingCheck('[ $((n % 3)) -ne 0 ]');
    const cli = superviseWithCheck(check);
    await waitFor(() => checkCalls() >= 9, { what: '9 checks' });
    await waitForSnapshot(cli, (s) => s.healthError !== '', 'a failed check seen');
    expect(lastOf(cli.snapshots())).toMatchObject({ restartCount: 0, healthRestarts: 0 });
    expect(cli.snapshots().every((s) => s.state !== 'failed')).toBe(true);
  });
});

describe('run: a limit on restarts', () => {
  it('--max-restarts 3: a command that keeps failing ends failed after 3 restarts, with its own exit code', async () => {
    const result = await runCli([
      'run',
      '--name',
      'loop',
      '--restart',
      'on-failure',
      '--max-restarts',
      '3',
      '--backoff-initial',
      '100ms',
      ...quiet,
      '--',
      'sh',
      '-c',
      'exit 3',
    ]);
    expect(result.code).toBe(3);
    expect(finalSnapshot(result.stdout)).toMatchObject({
      state: 'failed',
      restartCount: 3,
      lastError: 'exited with code 3; gave up after 3 restarts in 5m00s',
    });
  });

  it('restarts older than --restart-window do not count', async () => {
    // Every restart waits 500 ms, so the 300 ms window never holds an earlier one: the limit of 1 is never reached.
    const cli = startCli([
      'run',
      '--restart',
      'on-failure',
      '--max-restarts',
      '1',
      '--restart-window',
      '300ms',
      '--backoff-initial',
      '500ms',
      '--backoff-max',
      '500ms',
      ...quiet,
      '--',
      'sh',
      '-c',
      'sleep 0.1; exit 4',
    ]);
    await waitForSnapshot(cli, (s) => s.restartCount >= 3, '3 restarts', 20_000);
    expect(cli.snapshots().some((s) => s.lastError.includes('gave up'))).toBe(false);
  });
});

describe('run: limits on the command cgroup', () => {
  const missing = missingForCgroups();
  const allocate200MiB = [
    process.execPath,
    '-e',
    'const held = []; for (let i = 0; i < 200; i++) held.push(Buffer.alloc(1 << 20, 1)); setTimeout(() => {}, 1000);',
  ];

  itWhere(missing, '--memory-max 64M: the OOM kill of a command that allocates 200 MiB is named, and counted', async () => {
    const result = await runCli(['run', '--name', 'hog', '--memory-max', '64M', ...quiet, '--', ...allocate200MiB]);
    expect(result.code).toBe(137);
    expect(finalSnapshot(result.stdout)).toMatchObject({
      state: 'failed',
      lastError: 'killed by the OOM killer (memory limit 64.0 MiB)',
      oomKills: 1,
    });
  });

  itWhere(missing, 'the limit, and the OOM and health counters from the start, are on the metrics endpoint', async () => {
    const port = await freePort();
    const cli = startCli([
      'run',
      '--name',
      'capped',
      '--memory-max',
      '64M',
      '--json',
      '-i',
      '200ms',
      '--prometheus',
      String(port),
      '--',
      'sleep',
      '1000',
    ]);
    await waitForSnapshot(cli, (s) => s.cgroup?.memoryLimitBytes === 64 * MIB, 'the limit in a snapshot');
    const text = await fetchMetrics(port);
    expect(text).toMatch(/^procmetrics_cgroup_memory_limit_bytes\{[^}]*service_name="capped"[^}]*\} 67108864$/m);
    expect(text).toMatch(/^procmetrics_service_oom_kills_total\{[^}]*service_name="capped"[^}]*\} 0$/m);
    expect(text).toMatch(/^procmetrics_service_health_restarts_total\{[^}]*service_name="capped"[^}]*\} 0$/m);
  });

  itWhere(missing, '--cpu-max 0.5 holds a busy loop to half a core', async () => {
    const cli = startCli(['run', '--name', 'burner', '--cpu-max', '0.5', ...quiet, '--', process.execPath, '-e', 'for (;;) {}']);
    const first = await waitForSnapshot(cli, (s) => s.pid > 0 && s.cpu.timestamp > 0, 'a first sample');
    const later = await waitForSnapshot(cli, (s) => s.timestamp - first.timestamp >= 3000 && s.pid === first.pid, '3 s of samples');
    // Ground truth: CPU seconds over wall seconds between two samples of the same process.
    const cores =
      (later.cpu.user + later.cpu.system - first.cpu.user - first.cpu.system) / ((later.cpu.timestamp - first.cpu.timestamp) / 1000);
    expect(cores).toBeGreaterThan(0.05);
    expect(cores).toBeLessThan(0.6);
    expect(later.cgroup?.cpuThrottledPeriods ?? 0).toBeGreaterThan(0);
  });

  itWhere(
    missingForUsers(),
    'a limit that cannot be set (a user who may not make cgroups) is refused before anything starts: exit 2, one line',
    async () => {
      // A folder nobody may write to: had the command started, the marker would be there.
      chmodSync(dir, 0o777);
      const marker = join(dir, 'started');
      const cli = startProcess('setpriv', [
        ...AS_NOBODY,
        process.execPath,
        cliFor(NOBODY),
        'run',
        '--memory-max',
        '64M',
        ...quiet,
        '--',
        'touch',
        marker,
      ]);
      const { code } = await cli.exited;
      expect(code).toBe(2);
      expect(cli.stderr()).toMatch(/^procmetrics: --memory-max cannot be applied: cannot create \/\S+: EACCES\n$/);
      expect(cli.stdout()).toBe('');
      expect(existsSync(marker)).toBe(false);
    },
  );
});
