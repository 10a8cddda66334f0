import { describe, expect, it } from 'vitest';
import { editDistance, nearest, targetHint } from '../../src/cli/options/hints.js';
import { compilePattern, nonLinearConstruct } from '../../src/core/pattern.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['interval', 'intervall', 1],
    ['serivce', 'service', 2],
    ['kitten', 'sitting', 3],
  ])('%j to %j is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('nearest', () => {
  const flags = ['--interval', '--service', '--health-cmd', '--health-interval', '--json', '--once'];
  it('suggests the closest option for a typo or a prefix', () => {
    expect(nearest('--intervall', flags)).toBe('--interval');
    expect(nearest('--serivce', flags)).toBe('--service');
    expect(nearest('--jsno', flags)).toBe('--json');
    expect(nearest('--health', flags)).toBe('--health-cmd');
  });
  it('suggests nothing for a word that is far from every option', () => {
    expect(nearest('--frobnicate', flags)).toBeUndefined();
    expect(nearest('--x', flags)).toBeUndefined();
  });
});

describe('targetHint', () => {
  it('reads a path as a pid file and a word as a command line', () => {
    expect(targetHint('/run/api.pid')).toBe('; a pid file is written "pidfile:/run/api.pid"');
    expect(targetHint('nginx')).toBe('; to follow a process by its command line, write "match:nginx"');
    expect(targetHint('-5')).toBe('');
    expect(targetHint('0x10')).toBe('');
  });
});

describe('nonLinearConstruct names what the linear engine refuses', () => {
  it.each([
    ['(a)\\1', 'the backreference \\1'],
    ['(?<n>a)\\k<n>', 'the backreference \\k<n>'],
    ['(?=a)b', 'the lookahead (?='],
    ['a(?!b)', 'the lookahead (?!'],
    ['(?<!x)y', 'the lookbehind (?<!'],
    ['a{17}', 'the counted repeat {17} (at most 16)'],
    ['a{2,40}', 'the counted repeat {2,40} (at most 16)'],
  ])('%j: %s', (source, culprit) => {
    expect(nonLinearConstruct(source)).toBe(culprit);
    expect(compilePattern(source)).toEqual({ problem: `regular expression cannot be matched in linear time: ${culprit} is not supported` });
  });

  it('steps over escapes and character classes', () => {
    expect(nonLinearConstruct('\\\\1[(?=]a{16}')).toBeUndefined();
    expect(nonLinearConstruct('[\\]{99}]')).toBeUndefined();
  });
});
