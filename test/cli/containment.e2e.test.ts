import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/process.js';
import { isRunning, killAllCli, runCli, startCli, waitForSnapshot } from './cli.js';

afterEach(async () => {
  await killAllCli();
  for (const pid of running(/^sleep 30[1-5]\.\d+$/)) process.kill(pid, 'SIGKILL');
});

/** Live processes whose command line (arguments joined by spaces) matches. */
function running(pattern: RegExp): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').replaceAll('\0', ' ')) && isRunning(pid);
      } catch {
        return false;
      }
    });
}

/** A sleep duration no other process on the machine has: its command line names this test's processes. */
const unique = (whole: number): string => `${whole}.${Math.floor(Math.random() * 1e9)}`;
const quiet = ['--json', '--prometheus', 'off', '-i', '200ms'];

describe('nothing a supervised command or its health check starts outlives it', () => {
  it('a health check that starts grandchildren and times out leaves none behind', async () => {
    const seconds = unique(305);
    const cli = startCli([
      'run',
      '--name',
      'api',
      '--health-cmd',
      `sh -c 'sleep ${seconds}; true'`,
      '--health-interval',
      '300ms',
      ...quiet,
      '--',
      'sleep',
      '1000',
    ]);
    await waitForSnapshot(cli, (s) => s.pid > 0 && !s.healthy && s.state === 'starting', 'a failed check');
    // Four timeouts: without a group kill each would leave its sleep behind.
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(running(new RegExp(`^sleep ${seconds.replace('.', '\\.')}$`)).length).toBeLessThanOrEqual(1);
    cli.child.kill('SIGTERM');
    await cli.exited;
    expect(running(new RegExp(`^sleep ${seconds.replace('.', '\\.')}$`))).toEqual([]);
  });

  it('a daemon the command starts in a new session dies when the command exits', async () => {
    const seconds = unique(301);
    const result = await runCli(['run', ...quiet, '--', 'sh', '-c', `setsid sleep ${seconds} & sleep 0.3; exit 0`]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(running(new RegExp(`^sleep ${seconds.replace('.', '\\.')}$`))).toEqual([]);
  });

  it('after a SIGKILL of procmetrics itself, the next run or demo empties and removes the orphaned cgroup', async () => {
    const seconds = unique(302);
    const cli = startCli(['run', ...quiet, '--', 'sleep', seconds]);
    const started = await waitForSnapshot(cli, (s) => s.state === 'running', 'running');
    const cgroup = readFileSync(`/proc/${started.pid}/cgroup`, 'utf8').match(/^0::(\/procmetrics\/.+)$/m)?.[1];
    expect(cgroup).toMatch(new RegExp(`^/procmetrics/${cli.pid}-\\d+-\\d+-sleep-1$`));
    cli.child.kill('SIGKILL');
    await cli.exited;
    // What SIGKILL cannot prevent: the command runs on until the next start.
    expect(isRunning(started.pid)).toBe(true);

    const next = await runCli(['run', ...quiet, '--', 'true']);
    expect(next.code).toBe(0);
    await waitFor(() => !isRunning(started.pid), { what: 'the orphan to be killed' });
    expect(existsSync(`/sys/fs/cgroup/unified${cgroup ?? ''}`)).toBe(false);
  });
});
