import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetrics, freePort, killAllCli, runCli, startCli, waitForSnapshot, type CliProcess } from '../cli/cli.js';
import { killAll, spawnChild, spawnIdle, waitFor } from '../support/process.js';

/**
 * Another local user controls command lines and, through a writable pid
 * file, what procmetrics reads. Whatever they do, the command keeps sampling,
 * answers scrapes and stops on SIGTERM within 2 s. Figures are printed as
 * `reliability:` lines for RELIABILITY.md.
 */
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-hostile-'));
});
afterEach(async () => {
  await killAllCli();
  await killAll();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const report = (scenario: string, figures: Record<string, unknown>): void => {
  console.log(`reliability: ${scenario}: ${JSON.stringify(figures)}`);
};

/** A live process whose command line is `node -e ... ARGS`. */
function spawnWithArgs(...args: string[]) {
  const child = spawnChild(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', ...args]);
  if (child.pid === undefined) throw new Error('no child');
  return child as typeof child & { pid: number };
}

/** Still sampling (n more snapshots), still scraped, then SIGTERM: returns the figures. */
async function provesAlive(cli: CliProcess, port: number, service: string) {
  const seen = cli.snapshots().length;
  const sampledFrom = Date.now();
  await waitFor(() => cli.snapshots().length >= seen + 5, { timeoutMs: 10_000, what: `5 more snapshots; stderr: ${cli.stderr()}` });
  const sampleMs = Date.now() - sampledFrom;
  const scrapeFrom = Date.now();
  const metrics = await fetchMetrics(port);
  const scrapeMs = Date.now() - scrapeFrom;
  expect(metrics).toContain(`service_name="${service}"`);
  const stopFrom = Date.now();
  cli.child.kill('SIGTERM');
  const ended = await cli.exited;
  const stopMs = Date.now() - stopFrom;
  expect(ended).toEqual({ code: 0, signal: null });
  expect(stopMs).toBeLessThan(2000);
  return { fiveSnapshotsMs: sampleMs, scrapeMs, sigtermToExitMs: stopMs };
}

describe('hostile local users against the built command', () => {
  it('a catastrophic pattern and a 40-a command line: sampling, scrapes and SIGTERM unaffected', async () => {
    const victim = spawnWithArgs(`${'a'.repeat(40)}!`);
    const port = await freePort();
    const cli = startCli([
      'watch',
      '-s',
      'x=match:(a+)+$',
      '-s',
      `victim=${victim.pid}`,
      '-i',
      '200ms',
      '--json',
      '--prometheus',
      `127.0.0.1:${port}`,
    ]);
    await waitForSnapshot(cli, (s) => s.serviceName === 'victim' && s.state === 'running', 'the victim sampled');
    report('catastrophic regex', {
      pattern: '(a+)+$',
      commandLine: "40 a's + '!'",
      intervalMs: 200,
      ...(await provesAlive(cli, port, 'x')),
    });
  });

  it('a real process with a 100 KB command line: the README pattern stays cheap, a marker early in it is found', async () => {
    const marker = `marker-${process.pid}-${Date.now()}`;
    const huge = spawnWithArgs(marker, 'node '.repeat(20_000));
    const port = await freePort();
    const cli = startCli([
      'watch',
      '-s',
      'worker=match:node .*worker\\.js',
      '-s',
      `big=match:${marker}`,
      '-i',
      '200ms',
      '--json',
      '--prometheus',
      `127.0.0.1:${port}`,
    ]);
    const found = await waitForSnapshot(cli, (s) => s.serviceName === 'big' && s.state === 'running', 'the 100 KB process found');
    expect(found.pid).toBe(huge.pid);
    report('huge command line', { argvBytes: 100_000 + marker.length, intervalMs: 200, ...(await provesAlive(cli, port, 'worker')) });
  });

  it('a pid file swapped for a FIFO mid-run: no hang, the process still followed, SIGTERM works', async () => {
    const idle = spawnIdle();
    const pidFile = join(dir, 'fifo.pid');
    writeFileSync(pidFile, `${idle.pid}\n`);
    const port = await freePort();
    const cli = startCli(['watch', '-s', `api=pidfile:${pidFile}`, '-i', '200ms', '--json', '--prometheus', `127.0.0.1:${port}`]);
    await waitForSnapshot(cli, (s) => s.pid === idle.pid, 'followed');
    unlinkSync(pidFile);
    execFileSync('mkfifo', [pidFile]);
    const seen = cli.snapshots().length;
    const figures = await provesAlive(cli, port, 'api');
    expect(
      cli
        .snapshots()
        .slice(seen)
        .every((s) => s.pid === idle.pid && s.state === 'running' && s.restartCount === 0),
    ).toBe(true);
    expect(cli.stderr()).toContain('(last: cannot read pid file');
    expect(cli.stderr()).toContain('a FIFO, not a regular file)');
    report('FIFO pid file mid-run', { intervalMs: 200, ...figures });
  });

  it('a FIFO as pid file or config at start: exit 2 at once', async () => {
    const fifo = join(dir, 'start.fifo');
    execFileSync('mkfifo', [fifo]);
    const from = Date.now();
    const asPidFile = await runCli(['watch', '-s', `api=pidfile:${fifo}`, '--prometheus', 'off']);
    const asConfig = await runCli(['watch', '-c', fifo, '--prometheus', 'off']);
    expect(asPidFile).toMatchObject({ code: 2, stderr: expect.stringContaining('a FIFO, not a regular file') });
    expect(asConfig).toMatchObject({ code: 2, stderr: expect.stringContaining('a FIFO, not a regular file') });
    report('FIFO at start', { bothExitedMs: Date.now() - from });
  });

  it('a pid file linked to a secret: never quoted, at start or swapped in mid-run', async () => {
    const secretFile = join(dir, 'shadow');
    writeFileSync(secretFile, 'root:$6$S3CRETsalt$S3CREThash:19000:0:99999:7:::\n');
    const link = join(dir, 'linked.pid');
    symlinkSync(secretFile, link);
    const atStart = await runCli(['watch', '-s', `api=pidfile:${link}`, '--prometheus', 'off']);
    expect(atStart.code).toBe(2);
    expect(atStart.stderr).toBe(`procmetrics: --service api=pidfile:${link}: pid file ${link} does not hold a pid\n`);
    const asConfig = await runCli(['watch', '-c', secretFile]);
    expect(asConfig).toMatchObject({
      code: 2,
      stderr: `procmetrics: --config ${JSON.stringify(secretFile)}: not valid JSON at line 1 column 1\n`,
    });

    const idle = spawnIdle();
    const pidFile = join(dir, 'swapped.pid');
    writeFileSync(pidFile, `${idle.pid}\n`);
    const port = await freePort();
    const cli = startCli(['watch', '-s', `api=pidfile:${pidFile}`, '-i', '200ms', '--json', '--prometheus', `127.0.0.1:${port}`]);
    await waitForSnapshot(cli, (s) => s.pid === idle.pid, 'followed');
    unlinkSync(pidFile);
    symlinkSync(secretFile, pidFile);
    const figures = await provesAlive(cli, port, 'api');
    expect(cli.stdout() + cli.stderr()).not.toContain('S3CRET');
    report('symlinked pid file', { intervalMs: 200, ...figures });
  });
});
