import { describe, expect, it } from 'vitest';
import {
  ProcParseError,
  parseBootTime,
  parseCfsQuota,
  parseCgroupFile,
  parseCpuListCount,
  parseCpuMax,
  parseIo,
  parseMemTotal,
  parseMountInfo,
  parseOpenFilesLimit,
  parseStat,
  parseStatm,
  parseStatus,
  parseUptime,
} from '../../src/collectors/index.js';
import { emptyProcStatus, parseStatusInto } from '../../src/collectors/procfs/parse-status.js';

/** Captured from `sleep 1000` on the development machine (kernel 6.18). */
const REAL_STAT =
  '7516 (sleep) S 7514 7514 2488 0 -1 4194304 143 0 1 0 0 0 0 0 20 0 1 0 67284 2990080 408 18446744073709551615 94162858893312 94162858911241 140735105208784 0 0 0 0 6 0 1 0 0 17 0 0 0 0 0 0 94162858925328 94162858926592 94163748659200 140735105215010 140735105215021 140735105215021 140735105216489 0\n';

function statLine(comm: string, rest = 'R 1 1 1 0 -1 0 11 3 12 4 314 15 9 26 20 0 5 0 777 123456 89'): string {
  return `42 (${comm}) ${rest}\n`;
}

/** Every number of a record is finite: a parser never lets NaN through. */
function expectFinite(record: object): void {
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'number') expect(Number.isFinite(value), key).toBe(true);
  }
}

describe('parseStat', () => {
  it('reads a real captured line', () => {
    const stat = parseStat(REAL_STAT);
    expect(stat).toEqual({
      comm: 'sleep',
      state: 'S',
      ppid: 7514,
      minorFaults: 143,
      childrenMinorFaults: 0,
      majorFaults: 1,
      childrenMajorFaults: 0,
      userTicks: 0,
      systemTicks: 0,
      childrenUserTicks: 0,
      childrenSystemTicks: 0,
      numThreads: 1,
      startTicks: 67284,
      vsizeBytes: 2990080,
      rssPages: 408,
    });
  });

  it('maps each field by its position', () => {
    const stat = parseStat(statLine('x'));
    expect(stat).toMatchObject({
      state: 'R',
      ppid: 1,
      minorFaults: 11,
      childrenMinorFaults: 3,
      majorFaults: 12,
      childrenMajorFaults: 4,
      userTicks: 314,
      systemTicks: 15,
      childrenUserTicks: 9,
      childrenSystemTicks: 26,
      numThreads: 5,
      startTicks: 777,
      vsizeBytes: 123456,
      rssPages: 89,
    });
  });

  it.each([
    ['spaces and parentheses', 'a) (b'],
    ['a lone closing parenthesis', ')'],
    ['a newline', 'two\nlines'],
    ['what looks like fields', 'x) S 1 2 3 4'],
    ['nothing', ''],
    ['non-ASCII bytes', 'caf\u00e9 \u2603'],
  ])('keeps a command name with %s whole (split at the last ")")', (_, comm) => {
    const stat = parseStat(statLine(comm));
    expect(stat).not.toBeInstanceOf(ProcParseError);
    expect(stat).toMatchObject({ comm, userTicks: 314, rssPages: 89 });
  });

  it.each([
    ['empty input', ''],
    ['no parentheses', '42 sleep S 1 2 3\n'],
    ['a line cut after the name', '42 (sleep)'],
    ['a line cut in the middle', REAL_STAT.slice(0, 60)],
    ['a line cut just before rss', '42 (x) R 1 1 1 0 -1 0 11 0 12 0 314 15 9 26 20 0 5 0 777 123456\n'],
    ['letters where numbers belong', statLine('x', 'R 1 1 1 0 -1 0 11 0 12 0 abc 15 9 26 20 0 5 0 777 123456 89')],
    ['a negative CPU time', statLine('x', 'R 1 1 1 0 -1 0 11 0 12 0 -3 15 9 26 20 0 5 0 777 123456 89')],
    ['a number glued to garbage', statLine('x', 'R 1 1 1 0 -1 0 11 0 12 0 3x 15 9 26 20 0 5 0 777 123456 89')],
    ['binary garbage', '\u0000\u0001\u0002)'],
  ])('returns a ProcParseError for %s', (_, text) => {
    const result = parseStat(text);
    expect(result).toBeInstanceOf(ProcParseError);
    expect(result).toMatchObject({ code: 'ERR_PROC_PARSE', file: 'stat' });
  });

  it('accepts bytes as well as text', () => {
    expect(parseStat(Buffer.from(REAL_STAT))).toMatchObject({ comm: 'sleep', startTicks: 67284 });
  });
});

describe('parseStatm', () => {
  it('reads the seven page counts', () => {
    expect(parseStatm('730 452 424 5 0 89 0\n')).toEqual({
      sizePages: 730,
      residentPages: 452,
      sharedPages: 424,
      textPages: 5,
      dataPages: 89,
    });
  });

  it.each([
    ['empty', ''],
    ['truncated', '730 452 424\n'],
    ['garbage', 'seven numbers please\n'],
    ['trailing garbage', '730 452 424 5 0 89 0 extra\n'],
  ])('returns a ProcParseError when %s', (_, text) => {
    expect(parseStatm(text)).toBeInstanceOf(ProcParseError);
  });
});

const STATUS = [
  'Name:\tsleep',
  'State:\tS (sleeping)',
  'VmRSS:\t    1808 kB',
  'VmStk:\t     132 kB',
  'VmSwap:\t      64 kB',
  'Cpus_allowed:\t3',
  'Cpus_allowed_list:\t0-1',
  'voluntary_ctxt_switches:\t4',
  'nonvoluntary_ctxt_switches:\t1',
  '',
].join('\n');

describe('parseStatus', () => {
  it('reads swap and stack in bytes, context switches and the affinity list', () => {
    expect(parseStatus(STATUS)).toEqual({
      swapBytes: 64 * 1024,
      stackBytes: 132 * 1024,
      voluntaryContextSwitches: 4,
      involuntaryContextSwitches: 1,
      cpusAllowedList: '0-1',
    });
  });

  it('does not take nonvoluntary_ctxt_switches for voluntary_ctxt_switches', () => {
    const text = 'Name:\tx\nnonvoluntary_ctxt_switches:\t9\nvoluntary_ctxt_switches:\t2\n';
    expect(parseStatus(text)).toMatchObject({ voluntaryContextSwitches: 2, involuntaryContextSwitches: 9 });
  });

  it('gives null for lines a kernel thread does not have', () => {
    const result = parseStatus('Name:\tkthreadd\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n');
    expect(result).toMatchObject({ swapBytes: null, stackBytes: null, cpusAllowedList: null });
  });

  it('reads only the given length of a reused buffer, and the affinity list only when asked', () => {
    const buffer = Buffer.alloc(4096, 0x20);
    buffer.write(STATUS, 'latin1');
    const shorter = 'Name:\tx\nvoluntary_ctxt_switches:\t8\nnonvoluntary_ctxt_switches:\t9\n';
    buffer.write(shorter, 'latin1');
    const out = emptyProcStatus();
    expect(parseStatusInto(buffer, shorter.length, out, false)).toBeUndefined();
    // The longer text still lies in the buffer past `length`: none of it may leak in.
    expect(out).toEqual({
      swapBytes: null,
      stackBytes: null,
      voluntaryContextSwitches: 8,
      involuntaryContextSwitches: 9,
      cpusAllowedList: null,
    });
    buffer.write(STATUS, 'latin1');
    expect(parseStatusInto(buffer, STATUS.length, out, false)).toBeUndefined();
    expect(out.cpusAllowedList).toBeNull();
    expect(parseStatusInto(buffer, STATUS.length, out, true)).toBeUndefined();
    expect(out.cpusAllowedList).toBe('0-1');
  });

  it.each([
    ['empty', ''],
    ['truncated (no final newline)', STATUS.slice(0, STATUS.length - 10)],
    ['another file', 'rchar: 1\nwchar: 2\n'],
    ['a value that is not a number', 'Name:\tx\nVmSwap:\t lots kB\n'],
  ])('returns a ProcParseError when %s', (_, text) => {
    expect(parseStatus(text)).toBeInstanceOf(ProcParseError);
  });
});

describe('parseIo', () => {
  const IO = 'rchar: 6976\nwchar: 10\nsyscr: 10\nsyscw: 0\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n';

  it('reads storage bytes, not rchar/wchar and not cancelled_write_bytes', () => {
    expect(parseIo(IO)).toEqual({ readBytes: 4096, writeBytes: 8192 });
  });

  it.each([
    ['empty', ''],
    ['truncated', IO.slice(0, 50)],
    ['missing write_bytes', 'read_bytes: 1\n'],
    ['garbage', 'read_bytes: x\nwrite_bytes: y\n'],
  ])('returns a ProcParseError when %s', (_, text) => {
    expect(parseIo(text)).toBeInstanceOf(ProcParseError);
  });
});

describe('machine files', () => {
  it('reads btime from /proc/stat', () => {
    expect(parseBootTime('cpu  1 2 3\nctxt 99\nbtime 1700000000\nprocesses 5\n')).toBe(1_700_000_000);
    expect(parseBootTime('cpu  1 2 3\n')).toBeInstanceOf(ProcParseError);
    expect(parseBootTime('')).toBeInstanceOf(ProcParseError);
    expect(parseUptime('988.10 1353.09\n')).toBe(988.1);
    expect(parseUptime('42 7\n')).toBe(42);
    expect(parseUptime('')).toBeInstanceOf(ProcParseError);
    expect(parseUptime('x 1\n')).toBeInstanceOf(ProcParseError);
  });

  it('reads MemTotal from /proc/meminfo in bytes', () => {
    expect(parseMemTotal('MemTotal:       24684012 kB\nMemFree: 1 kB\n')).toBe(24_684_012 * 1024);
    expect(parseMemTotal('MemFree: 1 kB\n')).toBeInstanceOf(ProcParseError);
    expect(parseMemTotal('MemTotal: ??? kB\n')).toBeInstanceOf(ProcParseError);
  });

  it('reads the soft open-files limit', () => {
    const limits = 'Limit Soft Limit Hard Limit Units\nMax open files            20000                20000                files\n';
    expect(parseOpenFilesLimit(limits)).toBe(20_000);
    expect(parseOpenFilesLimit(limits.replace('20000 ', 'unlimited '))).toBeNull();
    expect(parseOpenFilesLimit('')).toBeInstanceOf(ProcParseError);
  });
});

describe('CPU lists and cgroup files', () => {
  it.each([
    ['0', 1],
    ['0-1', 2],
    ['0-3,8,10-11', 7],
    ['5-5', 1],
    ['  0-63\n', 64],
  ])('counts %j as %i CPUs', (list, count) => {
    expect(parseCpuListCount(list)).toBe(count);
  });

  it.each(['', '0-', '3-1', 'a-b', '0,,1', '0-3:2'])('rejects the CPU list %j', (list) => {
    expect(parseCpuListCount(list)).toBeInstanceOf(ProcParseError);
  });

  it('reads /proc/PID/cgroup of a hybrid host', () => {
    expect(parseCgroupFile('4:memory:/box/a\n1:cpu,cpuacct:/\n0::/user.slice/x:y\n')).toEqual([
      { hierarchyId: 4, controllers: ['memory'], path: '/box/a' },
      { hierarchyId: 1, controllers: ['cpu', 'cpuacct'], path: '/' },
      { hierarchyId: 0, controllers: [], path: '/user.slice/x:y' },
    ]);
    expect(parseCgroupFile('')).toBeInstanceOf(ProcParseError);
    expect(parseCgroupFile('not a cgroup line\n')).toBeInstanceOf(ProcParseError);
  });

  it('reads cgroup v2 cpu.max as CPUs', () => {
    expect(parseCpuMax('max 100000\n')).toBeNull();
    expect(parseCpuMax('150000 100000\n')).toBe(1.5);
    expect(parseCpuMax('50000 100000')).toBe(0.5);
    expect(parseCpuMax('')).toBeInstanceOf(ProcParseError);
    expect(parseCpuMax('1 0\n')).toBeInstanceOf(ProcParseError);
    expect(parseCpuMax('half\n')).toBeInstanceOf(ProcParseError);
  });

  it('reads cgroup v1 CFS quota and period as CPUs', () => {
    expect(parseCfsQuota('-1\n', '100000\n')).toBeNull();
    expect(parseCfsQuota('250000\n', '100000\n')).toBe(2.5);
    expect(parseCfsQuota('x\n', '100000\n')).toBeInstanceOf(ProcParseError);
    expect(parseCfsQuota('1000\n', '0\n')).toBeInstanceOf(ProcParseError);
  });

  it('reads mountinfo, undoing octal escapes', () => {
    const text =
      '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n' +
      '40 30 0:37 /docker/abc /mnt/with\\040space rw - cgroup2 cgroup2 rw\n';
    expect(parseMountInfo(text)).toEqual([
      { root: '/', mountPoint: '/sys/fs/cgroup/cpu', fsType: 'cgroup', superOptions: ['rw', 'cpu', 'cpuacct'] },
      { root: '/docker/abc', mountPoint: '/mnt/with space', fsType: 'cgroup2', superOptions: ['rw'] },
    ]);
    expect(parseMountInfo('1 2 3\n')).toBeInstanceOf(ProcParseError);
  });
});

describe('no parser lets NaN through', () => {
  it('on every successful parse above', () => {
    for (const record of [parseStat(REAL_STAT), parseStatm('1 2 3 4 5 6 7\n'), parseStatus(STATUS)]) {
      expect(record).not.toBeInstanceOf(ProcParseError);
      expectFinite(record);
    }
  });

  it('on random garbage: an error value or finite numbers, never a throw', () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const alphabet = '0123456789 ()-\nabcSRZ:\t';
    for (let round = 0; round < 2000; round++) {
      const length = Math.floor(random() * 120);
      let text = '';
      for (let i = 0; i < length; i++) text += alphabet.charAt(Math.floor(random() * alphabet.length));
      for (const parse of [parseStat, parseStatm, parseStatus, parseIo]) {
        const result = parse(text);
        // An error value says what was wrong; a parse has finite numbers only.
        if (result instanceof ProcParseError) expect(result.reason, JSON.stringify(text)).not.toBe('');
        else expectFinite(result);
      }
    }
  });
});
