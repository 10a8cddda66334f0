import { expect, it } from 'vitest';
import { heapFlagsToSet } from '../../src/cli/heap-flag-choice.js';

it('sets both heap flags when the user set none', () => {
  expect(heapFlagsToSet(['--enable-source-maps', ''])).toEqual(['--semi-space-growth-factor=1', '--heap-growing-percent=50']);
});

it("leaves the old generation's growth to a user who sets it, and still keeps the young generation small", () => {
  expect(heapFlagsToSet(['--heap-growing-percent=300'])).toEqual(['--semi-space-growth-factor=1']);
});

it('leaves the young generation to a user who sizes it any of three ways', () => {
  for (const flag of ['--max-semi-space-size=64', '--min-semi-space-size=8', '--semi-space-growth-factor=2']) {
    expect(heapFlagsToSet([flag])).toEqual(['--heap-growing-percent=50']);
  }
  expect(heapFlagsToSet(['--max-semi-space-size=64', '--heap-growing-percent=0'])).toEqual([]);
});
