import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type ProcfsCollector, type ProcfsCollectorOptions } from '../../src/collectors/index.js';
import { findCgroupMounts } from '../../src/collectors/cgroup/mounts.js';
import { HostRoot } from '../../src/collectors/procfs/host-root.js';
import { parseIoStat, parseKeyValues, parseMemoryLimit, parsePidList, parsePressure } from '../../src/collectors/cgroup/parse.js';
import { ProcParseError } from '../../src/collectors/procfs/parse-error.js';
import { CgroupNotFoundError, CgroupReadError, ProcessNotFoundError, Tracker } from '../../src/index.js';
import type { ProcessSample } from '../../src/core/collector-port.js';
import { makeCgroup, missingForCgroups, type TestCgroup } from '../support/cgroup.js';
import { describeWhere, itWhere } from '../support/requires.js';
import { killAll, spawnChild, spawnIdle, waitFor } from '../support/process.js';
import { closeCollectors, procfsCollector, sampleOf } from '../support/collectors.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const PROC = join(FIXTURES, 'procfs/proc');
const V2 = join(FIXTURES, 'cgroup/v2');
const V1 = join(FIXTURES, 'cgroup/v1');
const MIB = 1024 * 1024;

afterEach(async () => {
  closeCollectors();
  await killAll();
});

const collector = (options: ProcfsCollectorOptions = {}): ProcfsCollector =>
  procfsCollector({ clockTicksPerSecond: 100, pageSizeBytes: 4096, ...options });

describe('cgroup file parsers', () => {
  it('reads key-number lines and skips keys of another shape', () => {
    const values = parseKeyValues('usage_usec 12\nweird a b\nnr_periods 3\n', 'cpu.stat');
    expect(values).toEqual(
      new Map([
        ['usage_usec', 12],
        ['nr_periods', 3],
      ]),
    );
    expect(parseKeyValues('', 'cpu.stat')).toBeInstanceOf(ProcParseError);
  });

  it('takes "max" and the v1 near-2^63 value as no limit', () => {
    expect(parseMemoryLimit('max\n', 'memory.max')).toBeNull();
    expect(parseMemoryLimit('9223372036854771712\n', 'memory.limit_in_bytes')).toBeNull();
    expect(parseMemoryLimit('268435456\n', 'memory.max')).toBe(268435456);
    expect(parseMemoryLimit('lots', 'memory.max')).toBeInstanceOf(ProcParseError);
  });

  it('sums io.stat over devices; an empty file is no I/O', () => {
    expect(parseIoStat('8:0 rbytes=10 wbytes=20 rios=1\n253:1 rbytes=5 wbytes=6\n')).toEqual({ readBytes: 15, writeBytes: 26 });
    expect(parseIoStat('')).toEqual({ readBytes: 0, writeBytes: 0 });
    expect(parseIoStat('rbytes=1')).toBeInstanceOf(ProcParseError);
  });

  it('reads the some and full stall totals of a pressure file in seconds; a line absent is null', () => {
    const both = 'some avg10=0.12 avg60=0.05 avg300=0.01 total=1500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=250\n';
    expect(parsePressure(both, 'memory.pressure')).toEqual({ some: 1.5, full: 0.00025 });
    // cpu.pressure before Linux 5.13: no full line.
    expect(parsePressure('some avg10=0.00 avg60=0.00 avg300=0.00 total=42\n', 'cpu.pressure')).toEqual({ some: 0.000042, full: null });
    expect(parsePressure('', 'io.pressure')).toBeInstanceOf(ProcParseError);
    expect(parsePressure('some avg10=0.00 total=x\n', 'io.pressure')).toBeInstanceOf(ProcParseError);
  });

  it('reads cgroup.procs and refuses what is not a pid', () => {
    expect(parsePidList('1\n22\n')).toEqual([1, 22]);
    expect(parsePidList('1\nx\n')).toBeInstanceOf(ProcParseError);
  });
});

describe('cgroup targets over fixture hierarchies', () => {
  it('pure v2: CPU, memory, limit, swap, tasks, io, faults and throttling from the cgroup; processes of its children too', async () => {
    const [outcome] = await collector({ procRoot: PROC, cgroupMounts: { v2: V2 } }).sample([
      { pid: 0, cgroup: '/system.slice/api.service' },
    ]);
    const sample = sampleOf(outcome);
    expect(sample).toMatchObject({
      // The oldest of 200 (listed in the cgroup) and 100 (in its child cgroup `worker`).
      pid: 100,
      cpu: { user: 2.5, system: 1, childrenUser: 0, childrenSystem: 0 },
      // No virtual size in a cgroup: summed over its processes (730 pages each in statm).
      memory: { rss: 52428800 + 8388608, swap: 4096, vms: 2 * 730 * 4096 },
      numThreads: 9,
      readBytes: 1024,
      writeBytes: 2048,
      majorFaults: 10,
      minorFaults: 990,
      processCount: 2,
      cgroup: {
        path: '/system.slice/api.service',
        memoryUsageBytes: 100 * MIB,
        memoryLimitBytes: 256 * MIB,
        cpuPeriods: 120,
        cpuThrottledPeriods: 7,
        cpuThrottledSeconds: 0.25,
        // cpu.max 50000 100000.
        cpuLimitCores: 0.5,
        // memory.events (2), which counts the cgroups below too, not memory.events.local (0).
        oomKills: 2,
        // cpu.pressure has no full line (as before Linux 5.13).
        pressure: { cpu: { some: 2.5, full: null }, memory: { some: 0.25, full: 0.125 }, io: { some: 1, full: 0.5 } },
      },
    });
  });

  it('a pressure file that cannot be parsed leaves that resource unknown and is counted; the others are read', async () => {
    const root = mkdtempSync(join(tmpdir(), 'procmetrics-cgroup-'));
    try {
      cpSync(V2, root, { recursive: true });
      writeFileSync(join(root, 'system.slice/api.service/io.pressure'), 'garbage\n');
      const reader = collector({ procRoot: PROC, cgroupMounts: { v2: root } });
      const [outcome] = await reader.sample([{ pid: 0, cgroup: '/system.slice/api.service' }]);
      expect(sampleOf(outcome).cgroup?.pressure).toEqual({
        cpu: { some: 2.5, full: null },
        memory: { some: 0.25, full: 0.125 },
        io: { some: null, full: null },
      });
      expect([...reader.errorCounts().keys()].filter((kind) => kind.startsWith('cgroup-io.pressure:'))).toHaveLength(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.each([
    [
      'pure v2: cgroup2 at /sys/fs/cgroup and nothing else',
      ['30 22 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate'],
      { v2: '/sys/fs/cgroup' },
    ],
    [
      'hybrid: v1 controllers beside cgroup2 at /sys/fs/cgroup/unified',
      [
        '30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
        '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
        '34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
        '40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
      ],
      {
        v2: '/sys/fs/cgroup/unified',
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
        memory: '/sys/fs/cgroup/memory',
      },
    ],
  ])('finds the hierarchies in mountinfo on a %s host, and samples through them', async (_host, lines, expected) => {
    // A host tree: the fixture /proc with this mountinfo, the fixture v2 cgroup at every v2 mount point.
    const root = mkdtempSync(join(tmpdir(), 'procmetrics-host-'));
    try {
      cpSync(PROC, join(root, 'proc'), { recursive: true });
      writeFileSync(join(root, 'proc/self/mountinfo'), `22 1 0:21 / /proc rw - proc proc rw\n${lines.join('\n')}\n`);
      const mounts = findCgroupMounts(new HostRoot(join(root, 'proc'), root));
      expect(mounts).toEqual(Object.fromEntries(Object.entries(expected).map(([kind, at]) => [kind, root + at])));
      cpSync(V2, root + expected.v2, { recursive: true });
      const [outcome] = await collector({ procRoot: join(root, 'proc'), hostRoot: root }).sample([
        { pid: 0, cgroup: '/system.slice/api.service' },
      ]);
      // The v2 figures (v1 controllers here are empty mount points: the v2 files answer).
      expect(sampleOf(outcome)).toMatchObject({
        pid: 100,
        processCount: 2,
        cgroup: { memoryUsageBytes: 100 * MIB, memoryLimitBytes: 256 * MIB },
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('v1: cpuacct (ns), cpu.stat throttled_time (ns), memory with total_ keys, pids', async () => {
    const mounts = { cpuacct: join(V1, 'cpuacct'), cpu: join(V1, 'cpu'), memory: join(V1, 'memory'), pids: join(V1, 'pids') };
    const [outcome] = await collector({ procRoot: PROC, cgroupMounts: mounts }).sample([{ pid: 0, cgroup: '/system.slice/api.service' }]);
    expect(sampleOf(outcome)).toMatchObject({
      pid: 100,
      cpu: { user: 2.5, system: 1 },
      memory: { rss: 52428800 + 8388608, swap: 4096 },
      numThreads: 9,
      // No io.stat, fd count or context switches in v1: summed over the processes (100 has an io file, 200 none).
      readBytes: 8192,
      writeBytes: 4096,
      numFDs: 3 + 1,
      voluntaryContextSwitches: 42 + 42,
      involuntaryContextSwitches: 7 + 7,
      processCount: 2,
      cgroup: {
        memoryUsageBytes: 100 * MIB,
        memoryLimitBytes: null,
        cpuPeriods: 120,
        cpuThrottledPeriods: 7,
        cpuThrottledSeconds: 0.25,
        // cpu.cfs_quota_us 150000 / cpu.cfs_period_us 100000.
        cpuLimitCores: 1.5,
        // memory.oom_control oom_kill.
        oomKills: 4,
        // Pressure files exist only in v2.
        pressure: null,
      },
    });
  });

  it('a path no hierarchy has is a CgroupNotFoundError (a ProcessNotFoundError to the tracker)', async () => {
    const [outcome] = await collector({ procRoot: PROC, cgroupMounts: { v2: V2 } }).sample([{ pid: 0, cgroup: '/nope.service' }]);
    expect(outcome?.ok).toBe(false);
    const error = outcome?.ok === false ? outcome.error : undefined;
    expect(error).toBeInstanceOf(CgroupNotFoundError);
    expect(error).toBeInstanceOf(ProcessNotFoundError);
    expect(error?.message).toBe('cgroup /nope.service: no such cgroup');
  });

  it('track() of a control file rejects with CgroupNotFoundError saying so; of an unreadable cgroup with CgroupReadError', async () => {
    const root = mkdtempSync(join(tmpdir(), 'procmetrics-cgroup-'));
    try {
      // cgroup.procs made a directory: reading it fails (EISDIR) as EACCES or EIO would.
      mkdirSync(join(root, 'broken.service', 'cgroup.procs'), { recursive: true });
      writeFileSync(join(root, 'cgroup.procs'), '1\n');
      const reader = collector({ procRoot: PROC, cgroupMounts: { v2: root } });
      const tracker = new Tracker(reader, { meterProvider: null });
      try {
        const file = tracker.track('file', { cgroup: '/cgroup.procs' });
        await expect(file).rejects.toBeInstanceOf(CgroupNotFoundError);
        await expect(file).rejects.toThrow('cgroup /cgroup.procs: is a file, not a cgroup directory');
        const unreadable = tracker.track('unreadable', { cgroup: '/broken.service' });
        await expect(unreadable).rejects.toBeInstanceOf(CgroupReadError);
        await expect(unreadable).rejects.toMatchObject({
          code: 'ERR_CGROUP_READ',
          cgroup: '/broken.service',
          message: 'cgroup /broken.service: cannot read cgroup.procs (EISDIR)',
        });
        // Counted by kind, not logged.
        expect(reader.errorCounts().get('cgroup-cgroup.procs:EISDIR')).toBe(1);
      } finally {
        await tracker.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** CPU seconds of a process (own, not children), from its stat: ticks of 10 ms. */
function ownCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describeWhere(missingForCgroups(), 'cgroup targets on this machine (root; hybrid v1 + v2)', () => {
  const BURN = fileURLToPath(new URL('../workloads/burn.mjs', import.meta.url));

  async function fiveBurners(cgroup: TestCgroup): Promise<number[]> {
    const pids: number[] = [];
    for (let i = 0; i < 5; i++) {
      // 20 % each: a core in all, on a shared machine.
      const child = spawnChild(process.execPath, [BURN, '20', '50'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      await new Promise((resolve) => child.once('message', resolve));
      cgroup.add(child.pid as number);
      pids.push(child.pid as number);
    }
    return pids;
  }

  it.each([
    ['v2 (unified cpu.stat)', undefined],
    [
      'v1 (cpuacct)',
      { cpuacct: '/sys/fs/cgroup/cpuacct', cpu: '/sys/fs/cgroup/cpu', memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids' },
    ],
  ])('%s: the CPU of a cgroup with 5 busy processes is within 10 percent of the sum of theirs', async (_, mounts) => {
    const cgroup = makeCgroup();
    try {
      const pids = await fiveBurners(cgroup);
      const from = collector(mounts === undefined ? {} : { cgroupMounts: mounts });
      const target = { pid: 0, cgroup: cgroup.path };
      const own = (): number => pids.reduce((sum, pid) => sum + ownCpuSeconds(pid), 0);
      // The processes' own times are read just before and just after the cgroup's: their mean is the same moment.
      const bracket = async (): Promise<{ own: number; sample: ProcessSample }> => {
        const before = own();
        const sample = sampleOf((await from.sample([target]))[0]);
        return { own: (before + own()) / 2, sample };
      };
      const { own: own0, sample: s0 } = await bracket();
      await sleep(2500);
      const { own: own1, sample: s1 } = await bracket();
      const ours = s1.cpu.user + s1.cpu.system - (s0.cpu.user + s0.cpu.system);
      const theirs = own1 - own0;
      expect(theirs).toBeGreaterThan(1);
      // Process times are whole 10 ms ticks at each end, per process: 5 x 2 x 10 ms at most.
      expect(Math.abs(ours - theirs)).toBeLessThanOrEqual(0.1 * theirs + 0.1);
      expect(s1.processCount).toBe(5);
      expect(pids).toContain(s1.pid);
      expect(s1.cgroup?.path).toBe(cgroup.path);
    } finally {
      await killAll();
      await cgroup.remove();
    }
  });

  it('a tracked cgroup runs while it has processes and fails once it is empty', async () => {
    const cgroup = makeCgroup();
    const tracker = new Tracker(collector(), { meterProvider: null, collectionInterval: 100 });
    try {
      const sleeper = spawnIdle();
      cgroup.add(sleeper.pid);
      await expect(tracker.track('svc', { cgroup: '/procmetrics-no-such-cgroup' })).rejects.toThrow(CgroupNotFoundError);
      await tracker.track('svc', { cgroup: cgroup.path });
      expect(tracker.get('svc')).toMatchObject({ state: 'running', pid: sleeper.pid, processCount: 1, cgroup: { path: cgroup.path } });
      tracker.start();
      sleeper.kill('SIGKILL');
      const failed = await waitFor(() => tracker.get('svc')?.state === 'failed' && tracker.get('svc'), { what: 'failed' });
      expect(failed).toMatchObject({ pid: 0, processCount: 0, cgroup: null, lastError: `cgroup ${cgroup.path} has no process left` });
    } finally {
      await tracker.close();
      await cgroup.remove();
    }
  });

  it('v1 memory limit of 64 MiB and a child allocating 200 MiB: oomKills goes from 0 to 1; the v1 CPU quota read in CPUs', async () => {
    const cgroup = makeCgroup();
    try {
      const memory = '/sys/fs/cgroup/memory';
      cgroup.set(memory, 'memory.limit_in_bytes', 64 * MIB);
      // No swap to escape to (memsw exists only with swap accounting on).
      if (existsSync(`${memory}${cgroup.path}/memory.memsw.limit_in_bytes`)) cgroup.set(memory, 'memory.memsw.limit_in_bytes', 64 * MIB);
      cgroup.set('/sys/fs/cgroup/cpu', 'cpu.cfs_period_us', 100_000);
      cgroup.set('/sys/fs/cgroup/cpu', 'cpu.cfs_quota_us', 50_000);
      // A small process keeps the cgroup readable before and after the kill.
      cgroup.add(spawnIdle().pid);
      const from = collector();
      const target = { pid: 0, cgroup: cgroup.path };
      const before = sampleOf((await from.sample([target]))[0]).cgroup;
      // On this hybrid host the v2 cgroup has no cpu controller: the quota comes from the v1 cpu hierarchy.
      expect(before).toMatchObject({ oomKills: 0, cpuLimitCores: 0.5, memoryLimitBytes: 64 * MIB });

      // In the cgroup before node starts, so every page it touches is charged to it.
      const allocate = 'const kept = []; for (let i = 0; i < 200; i++) kept.push(Buffer.alloc(1 << 20, 1)); console.log("survived");';
      const child = spawnChild(
        'sh',
        ['-c', `echo $$ > ${memory}${cgroup.path}/cgroup.procs && exec "$0" -e '${allocate}'`, process.execPath],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      expect({ code, signal, out }).toEqual({ code: null, signal: 'SIGKILL', out: '' });

      const after = sampleOf((await from.sample([target]))[0]).cgroup;
      expect(after?.oomKills).toBe(1);
      // The tracker takes the cgroup's count as the service's OOM kills, from its first sample on.
      const tracker = new Tracker(from, { meterProvider: null, collectionInterval: 100 });
      try {
        await tracker.track('db', { cgroup: cgroup.path });
        expect(tracker.get('db')).toMatchObject({ oomKills: 1, state: 'running' });
      } finally {
        await tracker.close();
      }
    } finally {
      await killAll();
      await cgroup.remove();
    }
  });

  const noPsi = existsSync('/sys/fs/cgroup/unified/cpu.pressure') ? undefined : 'needs a kernel with pressure stall information (PSI)';
  itWhere(noPsi, 'v2 pressure totals (cpu, memory, io; some and full) are seconds that never go back between two reads', async () => {
    const cgroup = makeCgroup();
    try {
      // A busy process and a sleeping one: CPU contention gives the cpu totals something to count.
      const busy = spawnChild(process.execPath, [BURN, '50', '100'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      await once(busy, 'message');
      cgroup.add(busy.pid as number);
      cgroup.add(spawnIdle().pid);
      const from = collector();
      const target = { pid: 0, cgroup: cgroup.path };
      const first = sampleOf((await from.sample([target]))[0]).cgroup?.pressure;
      await sleep(500);
      const second = sampleOf((await from.sample([target]))[0]).cgroup?.pressure;
      for (const resource of ['cpu', 'memory', 'io'] as const) {
        for (const scope of ['some', 'full'] as const) {
          const [a, b] = [first?.[resource][scope], second?.[resource][scope]];
          // cpu.pressure has a full line only from Linux 5.13 on.
          const reported = readFileSync(`/sys/fs/cgroup/unified${cgroup.path}/${resource}.pressure`, 'utf8').includes(`${scope} `);
          expect(typeof a, `${resource} ${scope}`).toBe(reported ? 'number' : 'object');
          if (!reported) continue;
          expect(b as number, `${resource} ${scope}`).toBeGreaterThanOrEqual(a as number);
        }
      }
    } finally {
      await killAll();
      await cgroup.remove();
    }
  });
});
