import { describe, expect, it } from 'vitest';
import { nextQuickExits, restartDelayMs } from '../../src/cli/run/backoff.js';
import { DEFAULT_BACKOFF } from '../../src/cli/options/run-options.js';
import { describeExit, exitCodeOf, isOrderlyStop, shouldRestart, type ExitStatus } from '../../src/cli/run/exit-status.js';

const policy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 10_000 };

describe('restart backoff', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => restartDelayMs(n, policy))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(restartDelayMs(10_000, policy)).toBe(30_000);
  });

  it('counts quick exits in a row and forgives a child that stayed up', () => {
    let quick = 0;
    for (const uptimeMs of [100, 200, 300]) quick = nextQuickExits(quick, uptimeMs, policy);
    expect(quick).toBe(3);
    expect(nextQuickExits(quick, 10_000, policy)).toBe(1);
  });

  it('has sane defaults', () => {
    expect(DEFAULT_BACKOFF.initialMs).toBeLessThan(DEFAULT_BACKOFF.maxMs);
    expect(DEFAULT_BACKOFF.resetAfterMs).toBeGreaterThan(0);
  });
});

describe('exit status', () => {
  const exited = (code: number): ExitStatus => ({ kind: 'exited', code });
  const killed: ExitStatus = { kind: 'signaled', signal: 'SIGKILL' };

  it('passes on the code as a shell would', () => {
    expect(exitCodeOf(exited(3))).toBe(3);
    expect(exitCodeOf(killed)).toBe(137);
    expect(exitCodeOf({ kind: 'signaled', signal: 'SIGTERM' })).toBe(143);
    expect(exitCodeOf({ kind: 'spawn-failed', errno: 'ENOENT' })).toBe(127);
    expect(exitCodeOf({ kind: 'spawn-failed', errno: 'EACCES' })).toBe(126);
  });

  it('describes it for lastError', () => {
    expect(describeExit(exited(3))).toBe('exited with code 3');
    expect(describeExit(killed)).toBe('killed by SIGKILL');
    expect(describeExit({ kind: 'spawn-failed', errno: 'ENOENT' })).toBe('cannot start: ENOENT');
  });

  it('tells the exit a stop asked for (no error) from one it did not', () => {
    expect(isOrderlyStop(exited(0), 'SIGTERM')).toBe(true);
    expect(isOrderlyStop({ kind: 'signaled', signal: 'SIGTERM' }, 'SIGTERM')).toBe(true);
    expect(isOrderlyStop(exited(143), 'SIGTERM')).toBe(true);
    expect(isOrderlyStop(exited(130), 'SIGINT')).toBe(true);
    expect(isOrderlyStop(killed, 'SIGTERM')).toBe(false);
    expect(isOrderlyStop(exited(1), 'SIGTERM')).toBe(false);
    expect(isOrderlyStop({ kind: 'signaled', signal: 'SIGINT' }, 'SIGTERM')).toBe(false);
  });

  it('restarts per policy', () => {
    expect(shouldRestart('never', exited(1))).toBe(false);
    expect(shouldRestart('on-failure', exited(0))).toBe(false);
    expect(shouldRestart('on-failure', exited(1))).toBe(true);
    expect(shouldRestart('on-failure', killed)).toBe(true);
    expect(shouldRestart('always', exited(0))).toBe(true);
  });
});
