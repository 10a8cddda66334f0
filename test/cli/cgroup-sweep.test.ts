import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostRoot } from '../../src/collectors/procfs/host-root.js';
import { createCgroup, sweepOrphanCgroups } from '../../src/cli/run/cgroup.js';

/**
 * The command's cgroup code on a fixture tree shaped like a pure cgroup v2
 * host: one cgroup2 mount, no v1 hierarchy. The sweep rule itself is the one
 * test/reliability/cli-never-touch.test.ts checks on the real machine; here
 * every case of it runs whatever this machine's hierarchy is.
 */
const NAMESPACE = '4026531836';
const OTHER_NAMESPACE = '4026532999';
const roots: string[] = [];

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A stat line with the fields the parser reads; field 22 is the start in clock ticks. */
function statLine(pid: number, startTicks: number): string {
  const fields = [String(pid), '(sleep)', 'S', '1', String(pid), String(pid), '0', '-1', '0'];
  fields.push(...Array.from({ length: 12 }, (_, i) => (i === 10 ? '1' : '0'))); // 10..21, num_threads = 1
  fields.push(String(startTicks), '1000000', '100');
  while (fields.length < 52) fields.push('0');
  return `${fields.join(' ')}\n`;
}

function addProcess(root: string, pid: number | 'self', startTicks: number, namespace = NAMESPACE): void {
  const dir = join(root, 'proc', String(pid));
  mkdirSync(join(dir, 'ns'), { recursive: true });
  writeFileSync(join(dir, 'stat'), statLine(pid === 'self' ? process.pid : pid, startTicks));
  symlinkSync(`pid:[${namespace}]`, join(dir, 'ns', 'pid'));
}

/** A pure v2 host tree with this process in it (started at tick 5000) and the cgroups named. */
function pureV2Host(cgroups: readonly string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'procmetrics-v2-host-'));
  roots.push(root);
  mkdirSync(join(root, 'proc', 'self'), { recursive: true });
  writeFileSync(
    join(root, 'proc', 'self', 'mountinfo'),
    '22 1 0:21 / /proc rw - proc proc rw\n30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n',
  );
  writeFileSync(join(root, 'proc', 'self', 'cgroup'), '0::/user.slice\n');
  addProcess(root, process.pid, 5000);
  for (const name of cgroups) mkdirSync(join(root, 'sys/fs/cgroup/procmetrics', name), { recursive: true });
  return root;
}

const swept = (root: string, name: string): boolean => !existsSync(join(root, 'sys/fs/cgroup/procmetrics', name));

describe('the command cgroup code on a pure cgroup v2 host (fixture tree)', () => {
  it('sweeps exactly the cgroups of our namespace and uid whose owner is provably gone', async () => {
    const gone = `900001-7000-${NAMESPACE}-api-1`;
    const alive = `900002-7000-${NAMESPACE}-api-1`;
    const reused = `900003-7000-${NAMESPACE}-api-1`;
    const elsewhere = `900004-7000-${OTHER_NAMESPACE}-api-1`;
    const stranger = `900005-7000-${NAMESPACE}-api-1`;
    const notOurs = 'system.slice';
    const root = pureV2Host([gone, alive, reused, elsewhere, stranger, notOurs]);
    addProcess(root, 900002, 7000); // the owner runs: same pid, same start
    addProcess(root, 900003, 8123); // another process now has the owner's pid
    chownSync(join(root, 'sys/fs/cgroup/procmetrics', stranger), 12345, 12345); // another user's procmetrics made it

    expect(await sweepOrphanCgroups(new HostRoot(join(root, 'proc'), root))).toBe(2);
    expect(swept(root, gone)).toBe(true);
    expect(swept(root, reused)).toBe(true);
    expect(swept(root, alive)).toBe(false);
    expect(swept(root, elsewhere)).toBe(false);
    expect(swept(root, stranger)).toBe(false);
    expect(swept(root, notOurs)).toBe(false);
  });

  it('takes an owner it cannot read for alive, and sweeps nothing without a v2 mount or its own cgroup', async () => {
    const unreadable = `900006-7000-${NAMESPACE}-api-1`;
    const root = pureV2Host([unreadable]);
    mkdirSync(join(root, 'proc', '900006', 'stat'), { recursive: true }); // EISDIR: not readable, not gone
    const host = new HostRoot(join(root, 'proc'), root);
    expect(await sweepOrphanCgroups(host)).toBe(0);
    expect(swept(root, unreadable)).toBe(false);

    writeFileSync(join(root, 'proc', 'self', 'mountinfo'), '22 1 0:21 / /proc rw - proc proc rw\n');
    rmSync(join(root, 'proc', '900006'), { recursive: true });
    expect(await sweepOrphanCgroups(host)).toBe(0);
    expect(swept(root, unreadable)).toBe(false);
  });

  it('makes its own cgroup under the v2 mount, named after this process, and removes it', async () => {
    const root = pureV2Host([]);
    const made = createCgroup('api', undefined, new HostRoot(join(root, 'proc'), root));
    if ('problem' in made) throw new Error(made.problem);
    expect(made.version).toBe(2);
    expect(made.path.startsWith(join(root, 'sys/fs/cgroup/procmetrics', `${process.pid}-5000-${NAMESPACE}-api-`))).toBe(true);
    expect(made.target).toMatch(new RegExp(`^/procmetrics/${process.pid}-5000-${NAMESPACE}-api-\\d+$`));
    expect(existsSync(made.path)).toBe(true);
    await made.remove();
    expect(existsSync(made.path)).toBe(false);
  });
});

describe('limits on the command cgroup (fixture tree of a pure cgroup v2 host)', () => {
  const MIB = 2 ** 20;
  const hostWith = (controllers: string): HostRoot => {
    const root = pureV2Host([]);
    mkdirSync(join(root, 'sys/fs/cgroup'), { recursive: true });
    writeFileSync(join(root, 'sys/fs/cgroup/cgroup.controllers'), `${controllers}\n`);
    return new HostRoot(join(root, 'proc'), root);
  };
  const read = (path: string, file: string): string => readFileSync(join(path, file), 'utf8');

  it('switches the controllers on for its cgroups and writes memory.max and cpu.max', () => {
    const host = hostWith('cpuset cpu io memory pids');
    const made = createCgroup('api', { memoryBytes: 64 * MIB, cpuCores: 0.5 }, host);
    if ('problem' in made) throw new Error(made.problem);
    expect(read(made.path, 'memory.max')).toBe(String(64 * MIB));
    expect(read(made.path, 'cpu.max')).toBe('50000 100000');
    expect(made.limits).toEqual({ memoryBytes: 64 * MIB, cpuCores: 0.5 });
    // Enabled below the root and below procmetrics' own directory (the fixture keeps the last write of each).
    expect(read(host.host('/sys/fs/cgroup'), 'cgroup.subtree_control')).toBe('+cpu');
    expect(read(host.host('/sys/fs/cgroup/procmetrics'), 'cgroup.subtree_control')).toBe('+cpu');
  });

  it('counts OOM kills from memory.events, and has no count without memory accounting', () => {
    const made = createCgroup('api', { memoryBytes: 64 * MIB, cpuCores: null }, hostWith('memory pids'));
    if ('problem' in made) throw new Error(made.problem);
    writeFileSync(join(made.path, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n');
    expect(made.oomKills()).toBe(2);
    const plain = createCgroup('web', undefined, hostWith('pids'));
    if ('problem' in plain) throw new Error(plain.problem);
    expect(plain.oomKills()).toBeNull();
  });

  it('says which limit cannot be applied when the hierarchy lacks its controller', () => {
    const host = hostWith('cpu pids');
    const made = createCgroup('api', { memoryBytes: 64 * MIB, cpuCores: 1 }, host);
    expect(made).toEqual({ problem: '--memory-max cannot be applied: no memory controller is mounted (v2 or v1)' });
    const cpuOnly = createCgroup('api', { memoryBytes: null, cpuCores: 1 }, host);
    if ('problem' in cpuOnly) throw new Error(cpuOnly.problem);
    expect(read(cpuOnly.path, 'cpu.max')).toBe('100000 100000');
    const noCpu = createCgroup('api', { memoryBytes: null, cpuCores: 1 }, hostWith('memory'));
    expect(noCpu).toEqual({ problem: '--cpu-max cannot be applied: no cpu controller is mounted (v2 or v1)' });
  });
});
