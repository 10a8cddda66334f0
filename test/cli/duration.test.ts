import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/cli/options/duration.js';
import { UsageError } from '../../src/cli/options/errors.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['2h', 7_200_000],
    [' 10s ', 10_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text, '--interval')).toBe(ms);
  });

  it.each(['5', '5 s', '-1s', 's', '1d', '1e3ms', '', 'fast'])('refuses %j, naming the flag and value', (text) => {
    expect(() => parseDuration(text, '--interval')).toThrow(UsageError);
    expect(() => parseDuration(text, '--interval')).toThrow(`--interval ${JSON.stringify(text)}`);
  });

  it('holds every duration between 100ms and 24h, both ends included', () => {
    expect(() => parseDuration('50ms', '--interval')).toThrow('must be between 100ms and 24h');
    expect(parseDuration('100ms', '--interval')).toBe(100);
    expect(parseDuration('24h', '--health-interval')).toBe(86_400_000);
    expect(() => parseDuration('24.001h', '--health-interval')).toThrow('--health-interval "24.001h": must be between 100ms and 24h');
    expect(() => parseDuration('600h', '--interval')).toThrow('must be between');
  });

  it('refuses amounts too long to mean anything, by their shape', () => {
    expect(() => parseDuration(`${'9'.repeat(400)}ms`, '--interval')).toThrow('not a duration');
  });
});

describe('formatDuration', () => {
  it.each([
    [850, '850ms'],
    [12_400, '12s'],
    [185_000, '3m05s'],
    [7_620_000, '2h07m'],
    [273_600_000, '3d04h'],
    [-1, '-'],
  ])('%i ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
