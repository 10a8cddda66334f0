import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/process.js';
import { describeWhere, missingScript } from '../support/requires.js';
import { CLI, fetchMetrics, freePort, killAllCli, runCli, startCli, startProcess, waitForSnapshot } from './cli.js';

/**
 * `procmetrics top URL` against a real `run`: the same table as `watch` on a
 * terminal, lines elsewhere, a server that goes away and comes back followed
 * again, and a bad URL refused with exit 2 and one line.
 */
afterEach(killAllCli);

/** A `run` of a long sleep on `port`, once its endpoint answers. */
async function startRun(port: number, name: string) {
  const cli = startCli(['run', '--name', name, '-i', '200ms', '--json', '--prometheus', `127.0.0.1:${port}`, '--', 'sleep', '1000']);
  await waitFor(async () => (await fetchMetrics(port)).includes(`service_name="${name}"`), { what: 'the first scrape', timeoutMs: 15_000 });
  return cli;
}

describe('procmetrics top', () => {
  it.each([
    [[], /^procmetrics: top needs the URL of another procmetrics' metrics port/],
    [['ftp://127.0.0.1:9464'], /^procmetrics: top "ftp:\/\/127\.0\.0\.1:9464": the URL must be http:\/\/ or https:\/\//],
    [['not a url'], /^procmetrics: top "not a url": not a URL/],
    [['http://x\u0001'], /^procmetrics: top "http:\/\/x\\u0001": not a URL \(at most 2048 characters, no control characters\)/],
    [['http://a', 'http://b'], /^procmetrics: unexpected argument "http:\/\/b": top takes one URL/],
    [['http://a', '--interval', '1s'], /^procmetrics: --interval is not an option of top/],
  ])('refuses %j with exit 2 and one line', async (args, message) => {
    const result = await runCli(['top', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('follows the stream of a run, and the next run on the same port after the first went away', async () => {
    const port = await freePort();
    const first = await startRun(port, 'api');
    const top = startCli(['top', `http://127.0.0.1:${port}`, '--json']);
    const firstPid = (await waitForSnapshot(first, (s) => s.state === 'running', 'the run running')).pid;
    await waitForSnapshot(top, (s) => s.serviceName === 'api' && s.pid === firstPid && s.state === 'running', 'the first run in top');

    first.child.kill('SIGTERM');
    await first.exited;
    // The last word of the first run reached top before the port closed.
    await waitForSnapshot(top, (s) => s.serviceName === 'api' && s.state === 'stopped', 'the stop in top');
    await waitFor(() => /trying again/.test(top.stderr()), { what: `top to notice; stderr: ${top.stderr()}` });

    const second = await startRun(port, 'api');
    const secondPid = (await waitForSnapshot(second, (s) => s.state === 'running', 'the second run running')).pid;
    await waitForSnapshot(top, (s) => s.pid === secondPid && s.state === 'running', 'the second run in top', 20_000);
    // Said once the replay is complete, just after the snapshots in it.
    await waitFor(() => /connected again/.test(top.stderr()), { what: `top to say it is back; stderr: ${top.stderr()}` });
    // Said once each way, not at every attempt.
    expect(top.stderr().match(/trying again/g)?.length).toBeLessThanOrEqual(2);
    top.child.kill('SIGINT');
    expect((await top.exited).code).toBe(0);
  }, 60_000);
});

describeWhere(missingScript(), 'top on a terminal', () => {
  it("draws watch's table of the other side's services", async () => {
    const port = await freePort();
    const run = await startRun(port, 'remote');
    const pid = (await waitForSnapshot(run, (s) => s.state === 'running', 'the run running')).pid;
    const term = startProcess('script', [
      '-qfec',
      `stty cols 120 rows 30; exec '${process.execPath}' '${CLI}' top http://127.0.0.1:${port}`,
      '/dev/null',
    ]);
    const row = new RegExp(`remote +${pid} +running +ok +\\d+\\.\\d +[\\d.]+ [KMG]iB +\\d+ +\\d+ +\\S+ +0 +[▁▂▃▄▅▆▇█]{2,}`);
    await waitFor(() => row.test(term.stdout()), { what: `the row of the remote service; got:\n${term.stdout().slice(-1500)}` });
    expect(term.stdout()).toMatch(/SERVICE +PID +STATE +HEALTH +CPU% +RSS +THREADS +FDS +UPTIME +RESTARTS +CPU HISTORY/);
    expect(term.stdout()).toContain(`procmetrics  1 service  every 200ms  from http://127.0.0.1:${port}/events`);
    term.child.kill('SIGTERM');
    await term.exited;
  }, 40_000);
});
