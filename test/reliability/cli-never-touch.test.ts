// What procmetrics must never do to processes that are not its own: a non-root
// `run` beside a root one, a pid the kernel handed on, signals that would open
// an inspector or end us without cleanup, a SIGTERM while huge trees are read.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { STOP_SIGNALS } from '../../src/cli/session/signals.js';
import { CLI, isRunning, killAllCli, startCli, startProcess, waitForSnapshot } from '../cli/cli.js';
import { killAll, spawnChild, spawnGroup, spawnIdle, waitFor } from '../support/process.js';
import { describeWhere, missingForPidSteering, NS_LAST_PID } from '../support/requires.js';
import { report, size } from './core-support.js';
import { AS_NOBODY, NOBODY, cliFor, missingForUsers } from '../support/users.js';

const quiet = ['--json', '--prometheus', 'off', '-i', '200ms'];
/** A sleep duration no other process has: its command line names this test's processes. */
const unique = (whole: number): string => `${whole}.${Math.floor(Math.random() * 1e9)}`;

afterEach(async () => {
  await killAllCli();
  await killAll();
});

/** Live processes whose command line is exactly `line`. */
function running(line: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    const pid = Number(name);
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0$/, '').replaceAll('\0', ' ') === line && isRunning(pid))
        found.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

describeWhere(missingForUsers(), 'two users on one host: a non-root run never touches root-supervised services', () => {
  it("keeps root's command (dropped to the same uid) alive while that uid starts, stops and SIGKILLs runs of its own", async () => {
    const rootSleep = unique(1410);
    const root = startCli(['run', '-n', 'r1', ...quiet, '--', 'setpriv', ...AS_NOBODY, 'sleep', rootSleep]);
    const started = await waitForSnapshot(root, (s) => s.state === 'running' && s.pid > 0, 'root run running');
    const cli = cliFor(NOBODY);
    const rounds = size(3, 25);
    let userRuns = 0;
    for (let round = 0; round < rounds; round++) {
      // A user run that is SIGKILLed leaves its command behind (it has no cgroup to be swept from) ...
      const userSleep = unique(1411);
      const user = startProcess('setpriv', [...AS_NOBODY, process.execPath, cli, 'run', ...quiet, '--', 'sleep', userSleep]);
      await waitForSnapshot(user, (s) => s.state === 'running', `user run ${round} running`);
      userRuns += 1;
      user.child.kill(round % 2 === 0 ? 'SIGTERM' : 'SIGKILL');
      await user.exited;
      for (const pid of running(`sleep ${userSleep}`)) process.kill(pid, 'SIGKILL');
      // ... and the next user run's sweep must judge root's cgroup alive, whatever it cannot read.
      expect(isRunning(started.pid)).toBe(true);
    }
    // One more that runs to its end, its sweep included.
    const last = startProcess('setpriv', [...AS_NOBODY, process.execPath, cli, 'run', ...quiet, '--', 'true']);
    expect((await last.exited).code).toBe(0);
    expect(last.stderr()).not.toMatch(/internal error/);
    expect(isRunning(started.pid)).toBe(true);
    expect(root.snapshots().filter((s) => s.state === 'failed')).toEqual([]);
    report('two-users', { userRuns: userRuns + 1, rootCommandAlive: isRunning(started.pid) });
    root.child.kill('SIGTERM');
    expect((await root.exited).code).toBe(143);
    expect(running(`sleep ${rootSleep}`)).toEqual([]);
  }, 120_000);
});

describeWhere(missingForPidSteering(), 'a pid handed on at exit is never signalled', () => {
  /** Waits (busily: the window is short) until `pid` is reaped, then starts a session leader at that pid. */
  function strangerAt(pid: number): ChildProcess | undefined {
    const deadline = Date.now() + 10_000;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline);
    for (let attempt = 0; attempt < 5; attempt++) {
      writeFileSync(NS_LAST_PID, String(pid - 1));
      // A group (and session) leader, so its process group id is its pid, as the command's was; killAll() ends it.
      const child = spawnGroup('sleep', ['1000']);
      if (child.pid === pid) return child;
      child.kill('SIGKILL');
    }
    return undefined;
  }

  it('a session leader given the pid of a command that exited while its health check ran survives run', async () => {
    const tries = size(8, 100);
    let reused = 0;
    let killed = 0;
    for (let attempt = 0; attempt < tries; attempt++) {
      // The check is still running when the command exits: its stop is awaited on the exit path.
      const cli = startCli(['run', '-n', 'short', '--health-cmd', 'sleep 2', '--health-interval', '5s', ...quiet, '--', 'sleep', '0.4']);
      const started = await waitForSnapshot(cli, (s) => s.pid > 0, 'the command');
      const stranger = strangerAt(started.pid);
      await cli.exited;
      if (stranger === undefined) continue; // another process took the pid first: no reuse to test
      reused += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (stranger.exitCode !== null || stranger.signalCode !== null) killed += 1;
      stranger.kill('SIGKILL');
    }
    report('pid-reuse-at-exit', { tries, reused, strangersKilled: killed });
    expect(reused).toBeGreaterThan(0);
    expect(killed).toBe(0);
  }, 300_000);
});

describeWhere(process.platform === 'linux' ? undefined : 'needs Linux', 'signals: none opens an inspector, none leaves an orphan', () => {
  it('SIGUSR1 opens no inspector and changes nothing; SIGTERM then ends run as usual', async () => {
    const seconds = unique(1412);
    const cli = startCli(['run', ...quiet, '--', 'sleep', seconds]);
    const started = await waitForSnapshot(cli, (s) => s.state === 'running', 'running');
    for (let i = 0; i < 3; i++) cli.child.kill('SIGUSR1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(cli.stderr()).not.toMatch(/Debugger|inspector|ws:\/\//i);
    expect(listening(cli.pid)).toEqual([]);
    expect(isRunning(cli.pid)).toBe(true);
    expect(isRunning(started.pid)).toBe(true);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(143);
  });

  const others = STOP_SIGNALS.filter((signal) => !['SIGINT', 'SIGTERM'].includes(signal));
  it.each(others)('%s ends run with cleanup: the command and its cgroup are gone', async (signal) => {
    const seconds = unique(1413);
    const cli = startCli(['run', ...quiet, '--', 'sleep', seconds]);
    const started = await waitForSnapshot(cli, (s) => s.state === 'running', 'running');
    const cgroup = /^0::(.+)$/m.exec(readFileSync(`/proc/${started.pid}/cgroup`, 'utf8'))?.[1];
    cli.child.kill(signal);
    const { code } = await cli.exited;
    // SIGHUP reaches the command as itself; the others as SIGTERM.
    expect(code).toBe(signal === 'SIGHUP' ? 129 : 143);
    expect(running(`sleep ${seconds}`)).toEqual([]);
    expect(cli.stderr()).not.toMatch(/internal error/);
    if (cgroup?.startsWith('/procmetrics/'))
      expect(existsSync(`/sys/fs/cgroup/unified${cgroup}`) || existsSync(`/sys/fs/cgroup${cgroup}`)).toBe(false);
  });

  it('a stdout reader that goes away (`run --json | head -1`) is one SIGTERM: exit 143, nothing left', async () => {
    const seconds = unique(1414);
    const pipeline = startProcess('bash', [
      '-c',
      `"$0" "$1" run ${quiet.join(' ')} -- sleep ${seconds} | head -1; echo "run=\${PIPESTATUS[0]}" >&2`,
      process.execPath,
      CLI,
    ]);
    await pipeline.exited;
    expect(pipeline.stderr()).toMatch(/^run=143$/m);
    expect(running(`sleep ${seconds}`)).toEqual([]);
  });

  it('SIGQUIT and SIGUSR2 end watch as SIGTERM does: exit 0, the watched process left alone', async () => {
    for (const signal of ['SIGQUIT', 'SIGUSR2'] as const) {
      const watched = spawnIdle();
      const cli = startCli(['watch', '-s', `w=${watched.pid}`, ...quiet]);
      await waitForSnapshot(cli, (s) => s.state === 'running', 'watching');
      cli.child.kill(signal);
      // Not 131 or 140: the signal's default action would end the process without its shutdown.
      expect(await cli.exited).toEqual({ code: 0, signal: null });
      expect(isRunning(watched.pid)).toBe(true);
    }
  });

  it('a CPU profile (`node --cpu-prof`, whose sampler is SIGPROF) neither stops watch nor is lost', async () => {
    const watched = spawnIdle();
    const dir = mkdtempSync(join(tmpdir(), 'procmetrics-prof-'));
    try {
      const cli = startProcess(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, CLI, 'watch', '-s', `w=${watched.pid}`, ...quiet]);
      // Past the first samples of the profiler: a stop on SIGPROF would have ended it long before.
      await waitFor(() => cli.snapshots().length >= 5 || undefined, { what: `five snapshots under the profiler; stderr: ${cli.stderr()}` });
      expect(isRunning(cli.pid)).toBe(true);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
      expect(readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWhere(process.platform === 'linux' ? undefined : 'needs Linux', 'SIGTERM while huge trees are read', () => {
  it('watch of thousands of services on one large tree stops on SIGTERM, orderly', async () => {
    const services = size(2000, 20_000);
    const children = 300;
    // One shell with `children` sleeping children: every service is that whole tree.
    const parent = spawnChild('sh', ['-c', `for i in $(seq ${children}); do sleep 1000 & done; wait`], { detached: true });
    const parentPid = parent.pid ?? 0;
    await waitFor(() => readFileSync(`/proc/${parentPid}/task/${parentPid}/children`, 'utf8').trim().split(' ').length >= children, {
      what: 'the children',
    });
    const dir = mkdtempSync(join(tmpdir(), 'procmetrics-big-'));
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ services: Object.fromEntries(Array.from({ length: services }, (_, i) => [`s${i}`, parentPid])) }),
    );
    try {
      const cli = startCli(['watch', '-c', config, '--json', '--prometheus', 'off', '-i', '1s']);
      await waitForSnapshot(cli, (s) => s.processCount > children, 'a first tree', 60_000);
      const sent = Date.now();
      cli.child.kill('SIGTERM');
      const { code } = await cli.exited;
      const tookMs = Date.now() - sent;
      report('sigterm-huge-trees', { services, treeSize: children + 1, exitAfterSigtermMs: tookMs });
      // The orderly path (exit 0), not the forced one: that would be exit 0 too, so the final lines are checked.
      expect(code).toBe(0);
      expect(cli.stderr()).toBe('');
      // Before, this took minutes: the track() queue never let the signal in.
      expect(tookMs).toBeLessThan(10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      process.kill(-parentPid, 'SIGKILL');
    }
  }, 180_000);
});

/** TCP ports the process listens on (from /proc/PID/net/tcp and the fds it holds). */
function listening(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports: number[] = [];
  for (const file of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && inodes.has(fields[9] ?? '')) ports.push(parseInt((fields[1] ?? '').split(':')[1] ?? '0', 16));
    }
  }
  return ports;
}
