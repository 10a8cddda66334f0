import { describe, expect, it } from 'vitest';
import { nextPidFileStep } from '../../src/cli/watch/pid-file-rule.js';
import type { Resolution } from '../../src/cli/watch/resolve.js';

const last = { pid: 100, startTime: 5000 };
const other = { pid: 200, startTime: 6000 };
const names = (identity: { pid: number; startTime: number }): Resolution => ({ found: true, ...identity });
const empty: Resolution = { found: false, problem: 'invalid', reason: 'pid file /run/a.pid does not hold a pid' };
const deadPid: Resolution = { found: false, problem: 'gone', reason: 'pid file /run/a.pid: process 12 is not running' };

describe('the pid file rule', () => {
  it('while the last process runs, a bad read is counted and changes nothing', () => {
    expect(nextPidFileStep(empty, last, true, undefined)).toEqual({
      action: 'keep',
      pending: undefined,
      problem: 'pid file /run/a.pid does not hold a pid',
    });
    expect(nextPidFileStep(deadPid, last, true, undefined)).toMatchObject({
      action: 'keep',
      problem: expect.stringContaining('not running'),
    });
  });

  it('the same process read again is no change, whatever happened in between', () => {
    expect(nextPidFileStep(names(last), last, true, undefined)).toEqual({ action: 'keep', pending: undefined });
  });

  it('a different running process takes over only on the second read in a row that names it', () => {
    const first = nextPidFileStep(names(other), last, true, undefined);
    expect(first).toEqual({ action: 'keep', pending: other });
    expect(nextPidFileStep(names(other), last, true, other)).toEqual({ action: 'follow', identity: other });
    // A half-written pid seen once, then the right one again: nothing happened.
    expect(nextPidFileStep(names(last), last, true, other)).toEqual({ action: 'keep', pending: undefined });
  });

  it('once the last process is gone, the file is taken at its word', () => {
    expect(nextPidFileStep(names(other), last, false, undefined)).toEqual({ action: 'follow', identity: other });
    expect(nextPidFileStep(empty, last, false, undefined)).toEqual({
      action: 'down',
      reason: 'pid file /run/a.pid does not hold a pid',
      removed: false,
    });
    expect(nextPidFileStep(deadPid, undefined, false, undefined)).toMatchObject({ action: 'down', removed: false });
    // Gone with its process: what a daemon does on an orderly stop.
    const missing: Resolution = { found: false, problem: 'missing', reason: 'cannot read pid file /run/a.pid: ENOENT' };
    expect(nextPidFileStep(missing, last, false, undefined)).toMatchObject({ action: 'down', removed: true });
    // While the process runs on, a missing file is a bad read like any other.
    expect(nextPidFileStep(missing, last, true, undefined)).toMatchObject({ action: 'keep', problem: expect.stringContaining('ENOENT') });
    expect(nextPidFileStep(names(other), undefined, false, undefined)).toEqual({ action: 'follow', identity: other });
  });

  it('a failure to look (EMFILE on /proc) changes nothing, followed process or not', () => {
    const cannotLook: Resolution = { found: false, problem: 'error', reason: 'cannot read the process table: EMFILE' };
    expect(nextPidFileStep(cannotLook, last, false, undefined)).toMatchObject({
      action: 'keep',
      problem: expect.stringContaining('EMFILE'),
    });
    expect(nextPidFileStep(cannotLook, undefined, false, undefined)).toMatchObject({ action: 'keep' });
  });
});
