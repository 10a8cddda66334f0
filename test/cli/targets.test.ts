import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/options/errors.js';
import { commandLineOf, pickOldest, type ProcEntry } from '../../src/cli/watch/proc-scan.js';
import { parsePidFile } from '../../src/cli/watch/resolve.js';
import { parseServiceArg } from '../../src/cli/options/target.js';

describe('NAME=TARGET', () => {
  it('reads a pid, a pid file and a pattern', () => {
    expect(parseServiceArg('api=1234')).toEqual({ name: 'api', target: { kind: 'pid', pid: 1234 } });
    expect(parseServiceArg('api=pidfile:/run/api.pid')).toEqual({
      name: 'api',
      target: { kind: 'pidfile', path: '/run/api.pid' },
    });
    const match = parseServiceArg('worker=match:node .*worker\\.js');
    expect(match.target.kind === 'match' && match.target.pattern.source).toBe('node .*worker\\.js');
  });

  it('keeps "=" inside the target', () => {
    expect(parseServiceArg('w=match:--mode=worker').target).toMatchObject({ kind: 'match' });
  });

  it.each([
    ['api', 'expected NAME=TARGET'],
    ['=1234', 'service name ""'],
    ['my api=1234', 'service name "my api"'],
    ['api=12ab', 'pid "12ab" is not a process id'],
    ['api=0', 'pid "0" is not a process id'],
    ['api=-5', 'pid "-5" is not a process id'],
    ['api=0x10', 'pid "0x10" is not a process id'],
    ['api=', 'pid "" is not a process id'],
    ['api=pidfile:', 'pidfile: needs a path'],
    ['api=match:', 'match: needs a regular expression'],
    ['api=match:([a-z', 'invalid regular expression'],
  ])('%j is refused: %s', (raw, message) => {
    expect(() => parseServiceArg(raw)).toThrow(UsageError);
    expect(() => parseServiceArg(raw)).toThrow(message);
    expect(() => parseServiceArg(raw)).toThrow(`--service ${JSON.stringify(raw)}`);
  });
});

describe('pid files', () => {
  it.each([
    ['1234\n', 1234],
    ['  42  ', 42],
    ['77\nextra line\n', 77],
    ['', null],
    ['abc\n', null],
    ['0\n', null],
    ['-3', null],
    ['99999999999', null],
  ])('%j holds %s', (text, pid) => {
    expect(parsePidFile(text)).toBe(pid);
  });
});

describe('match: the oldest matching process', () => {
  const entry = (pid: number, startTime: number, commandLine: string, state = 'S'): ProcEntry => ({
    pid,
    ppid: 1,
    startTime,
    commandLine,
    state,
  });
  const procs = [
    entry(300, 5000, 'node worker.js --queue b'),
    entry(200, 4000, 'node worker.js --queue a'),
    entry(100, 4000, 'node worker.js --queue c'),
    entry(50, 10, 'procmetrics watch -s w=match:worker'),
    entry(60, 20, '', 'Z'),
    entry(70, 30, 'node worker.js (zombie)', 'Z'),
  ];

  it('picks the earliest start, the lower pid on a tie', () => {
    expect(pickOldest(procs, /worker\.js/, new Set())?.pid).toBe(100);
  });

  it('never picks an excluded pid (procmetrics itself and its ancestors)', () => {
    expect(pickOldest(procs, /worker/, new Set())?.pid).toBe(50);
    expect(pickOldest(procs, /worker/, new Set([50]))?.pid).toBe(100);
  });

  it('skips zombies and kernel threads, and finds nothing when nothing matches', () => {
    expect(pickOldest(procs, /zombie/, new Set())).toBeUndefined();
    expect(pickOldest(procs, /^$/, new Set())).toBeUndefined();
  });

  it('judges every line alone even with a global pattern', () => {
    expect(pickOldest(procs, /queue/g, new Set())?.pid).toBe(100);
    expect(pickOldest(procs, /queue/g, new Set())?.pid).toBe(100);
  });

  it('reads /proc/PID/cmdline with its NUL separators', () => {
    expect(commandLineOf('node\u0000server.js\u0000--port\u00008080\u0000')).toBe('node server.js --port 8080');
    expect(commandLineOf('')).toBe('');
  });
});
