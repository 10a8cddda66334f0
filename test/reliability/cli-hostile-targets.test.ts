// Bad targets and OTLP headers: each is a usage error (exit 2, one line naming
// the argument and the value) or a counted read error with one clear line;
// never an internal error with a stack trace.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, fetchMetrics, freePort, killAllCli, runCli, startProcess, waitForSnapshot } from '../cli/cli.js';
import { HIERARCHIES, makeCgroup, missingForCgroups, type TestCgroup } from '../support/cgroup.js';
import { itWhere } from '../support/requires.js';
import { onPath } from '../support/prometheus.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';

let dir = '';
const cgroups: TestCgroup[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-targets-'));
});
afterEach(async () => {
  await killAllCli();
  await killAll();
  for (const cgroup of cgroups.splice(0)) await cgroup.remove();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const report = (scenario: string, figures: Record<string, unknown>): void => {
  console.log(`reliability: ${scenario}: ${JSON.stringify(figures)}`);
};

/** One line on stderr, `procmetrics: ...`, and nothing that looks like a stack. */
function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr.split('\n').filter((line) => line !== '')).toHaveLength(1);
  expect(stderr).toMatch(/^procmetrics: /);
  expect(stderr).not.toMatch(/internal error|\n\s+at /);
  expect(stderr).toMatch(pattern);
}

describe('bad targets at start', () => {
  it.each([
    [
      'a cgroup control file, --once',
      ['watch', '--once', '-s', 'x=cgroup:/cgroup.procs'],
      /x=cgroup:\/cgroup\.procs.*not a cgroup directory/,
    ],
    ['a cgroup control file, long-running', ['watch', '-s', 'x=cgroup:/cgroup.procs', '--prometheus', 'off'], /not a cgroup directory/],
    ['a pid file that is a directory', ['watch', '--once', '-s', 'x=pidfile:/tmp'], /pidfile:\/tmp.*a directory/],
  ])('%s: exit 2 with one line', async (_, args, pattern) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expectOneLine(result.stderr, pattern);
  });

  it('a pid file that is a symlink to a directory: exit 2 with one line', async () => {
    const target = join(dir, 'a-directory');
    mkdirSync(target);
    const link = join(dir, 'dir.pid');
    symlinkSync(target, link);
    const result = await runCli(['watch', '--once', '-s', `x=pidfile:${link}`]);
    expect(result.code).toBe(2);
    expectOneLine(result.stderr, /a directory/);
  });
});

describe('OTLP headers gRPC metadata or HTTP cannot carry', () => {
  it.each([
    ['a non-ASCII value', 'x-k=é', 'grpc'],
    ['a non-ASCII value', 'x-k=é', 'http/protobuf'],
    ['a tab', 'x-k=a\tb', 'grpc'],
    ['a percent-encoded line feed', 'x-k=a%0Ab', 'grpc'],
    ['a percent-encoded line feed', 'x-k=a%0Ab', 'http/protobuf'],
    ['a space in the key', 'x k=v', 'grpc'],
    ['a -bin key', 'trace-bin=AAEC', 'grpc'],
  ])('%s (%j over %s): exit 2, one line naming the variable', async (_, headers, protocol) => {
    const idle = spawnIdle();
    const from = Date.now();
    const result = await runCli(['watch', '-s', `x=${idle.pid}`, '--prometheus', 'off', '--otlp', 'http://127.0.0.1:9'], {
      OTEL_EXPORTER_OTLP_HEADERS: headers,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    });
    expect(result.code).toBe(2);
    expectOneLine(result.stderr, /^procmetrics: OTEL_EXPORTER_OTLP_HEADERS: header /);
    report(`OTEL_EXPORTER_OTLP_HEADERS ${JSON.stringify(headers)} over ${protocol}`, { exit: result.code, exitedMs: Date.now() - from });
  });
});

describe('a cgroup another user may not read', () => {
  // Root makes the cgroup and a user without rights watches it: needs root, cgroups and setpriv.
  const missing = missingForCgroups() ?? (onPath('setpriv') ? undefined : 'needs setpriv (util-linux)');
  const asNobody = (args: string[]) =>
    startProcess('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args]);
  const closeTo = (cgroup: TestCgroup): void => {
    for (const hierarchy of HIERARCHIES) chmodSync(`${hierarchy}${cgroup.path}`, 0o700);
  };

  itWhere(missing, 'at start: exit 2, one line', async () => {
    const cgroup = makeCgroup();
    cgroups.push(cgroup);
    closeTo(cgroup);
    const cli = asNobody(['watch', '--once', '-s', `x=cgroup:${cgroup.path}`]);
    expect((await cli.exited).code).toBe(2);
    expectOneLine(cli.stderr(), /cannot read .*cgroup\.procs \(EACCES\)/);
  });

  itWhere(
    missing,
    'appearing unreadable mid-run beside a good target: a line for it, the good one sampled on, the reads counted',
    async () => {
      const good = spawnIdle();
      // It need not exist at start: made (by root, closed to others) once the command runs.
      const cgroup = makeCgroup();
      cgroups.push(cgroup);
      for (const hierarchy of HIERARCHIES) rmdirSync(`${hierarchy}${cgroup.path}`);
      const port = await freePort();
      const cli = asNobody([
        'watch',
        '-s',
        `closed=cgroup:${cgroup.path}`,
        '-s',
        `good=${good.pid}`,
        '-i',
        '200ms',
        '--json',
        '--prometheus',
        `127.0.0.1:${port}`,
      ]);
      await waitForSnapshot(cli, (s) => s.serviceName === 'good' && s.state === 'running', 'the good target sampled');
      for (const hierarchy of HIERARCHIES) mkdirSync(`${hierarchy}${cgroup.path}`);
      const inside = spawnIdle();
      cgroup.add(inside.pid);
      closeTo(cgroup);
      const since = Date.now();
      const down = await waitForSnapshot(
        cli,
        (s) => s.serviceName === 'closed' && s.lastError.includes('EACCES'),
        'the unreadable cgroup reported',
      );
      expect(down.lastError).toMatch(/^cgroup \/procmetrics-test-[^:]+: cannot read cgroup\.procs \(EACCES\)$/);
      const seen = cli.snapshots().length;
      await waitFor(() => cli.snapshots().filter((s, i) => i >= seen && s.serviceName === 'good').length >= 5, {
        what: 'five more snapshots of the good target',
      });
      const metrics = await fetchMetrics(port);
      const counted = /procmetrics_tracker_read_errors_total\{[^}]*error_type="cgroup-cgroup\.procs:EACCES"[^}]*\} (\d+)/.exec(metrics);
      expect(Number(counted?.[1] ?? 0)).toBeGreaterThan(0);
      expect(cli.stderr()).not.toMatch(/internal error|\n\s+at /);
      const stopFrom = Date.now();
      cli.child.kill('SIGTERM');
      expect((await cli.exited).code).toBe(0);
      report('cgroup unreadable mid-run', {
        reportedMs: Date.now() - since,
        readErrorsCounted: Number(counted?.[1]),
        sigtermToExitMs: Date.now() - stopFrom,
      });
    },
    30_000,
  );
});
