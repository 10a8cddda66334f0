import { describe, expect, it } from 'vitest';
import { MAX_PATTERN_LENGTH } from '../../src/core/limits.js';
import { compilePattern } from '../../src/core/pattern.js';
import { parseServiceArg } from '../../src/cli/options/target.js';

function compiled(source: string): RegExp {
  const pattern = compilePattern(source);
  if (!(pattern instanceof RegExp)) throw new Error(pattern.problem);
  return pattern;
}

/** How long one test() of `pattern` against `text` takes, ms. */
function timeOne(pattern: RegExp, text: string): number {
  const started = performance.now();
  pattern.test(text);
  return performance.now() - started;
}

describe('match: patterns run in linear time', () => {
  it('a catastrophic pattern answers at once (a backtracking engine needs about 2^30 steps here)', () => {
    const pattern = compiled('(a+)+$');
    expect(pattern.test(`${'a'.repeat(30)}!`)).toBe(false);
    expect(timeOne(pattern, `${'a'.repeat(40)}!`)).toBeLessThan(1000);
    expect(pattern.test('aaa')).toBe(true);
  });

  it("the README's own example stays fast on a 100 KB command line", () => {
    const pattern = compiled('node .*worker\\.js');
    expect(timeOne(pattern, 'node '.repeat(20_000))).toBeLessThan(1000);
    expect(pattern.test('node /srv/app/worker.js --queue a')).toBe(true);
  });

  it.each([
    ['(a)\\1', 'cannot be matched in linear time'],
    ['(?=a)b', 'cannot be matched in linear time'],
    ['(?<!x)y', 'cannot be matched in linear time'],
    ['a{17}', 'cannot be matched in linear time'],
    ['([a-z', 'invalid regular expression: Unterminated character class'],
    ['a'.repeat(MAX_PATTERN_LENGTH + 1), `at most ${MAX_PATTERN_LENGTH}`],
  ])('refuses %j: %s', (source, problem) => {
    const result = compilePattern(source);
    expect(result).not.toBeInstanceOf(RegExp);
    expect(result).toMatchObject({ problem: expect.stringContaining(problem) });
  });

  it('a 100 KB pattern is refused up front, and the message stays one short line', () => {
    const raw = `w=match:${'a'.repeat(100_000)}`;
    expect(() => parseServiceArg(raw)).toThrow(
      /^--service "w=match:a+"\.\.\. \(100008 characters\): regular expression is 100000 characters long; at most 1024$/,
    );
  });
});
