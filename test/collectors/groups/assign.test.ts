import { describe, expect, it } from 'vitest';
import { assignGroups, compileGroupRules } from '../../../src/collectors/groups/index.js';
import { proc } from './support.js';

const summary = (groups: ReturnType<typeof assignGroups>) => groups.map((group) => [group.name, [...group.pids].sort((a, b) => a - b)]);

describe('assignGroups', () => {
  it('folds unmatched descendants into the nearest matched ancestor, once each', () => {
    const rules = compileGroupRules([
      { name: 'web', comm: ['nginx'] },
      { name: 'db', comm: ['postgres'], children: false },
    ]);
    const facts = [
      proc(1, 0, { comm: 'init' }),
      proc(10, 1, { comm: 'nginx' }),
      proc(11, 10, { comm: 'nginx' }),
      proc(12, 11, { comm: 'sh' }),
      proc(13, 12, { comm: 'cat' }),
      proc(20, 1, { comm: 'postgres' }),
      proc(21, 20, { comm: 'walwriter' }),
      proc(22, 20, { comm: 'postgres' }),
    ];
    const groups = assignGroups(facts, rules);
    expect(summary(groups)).toEqual([
      ['web', [10, 11, 12, 13]],
      ['db', [20, 22]],
    ]);
    expect(groups[0]).toMatchObject({ rule: 0, oldest: { pid: 10, startTicks: 10 }, foldedGroups: 0, labels: {} });
  });

  it('gives a process matched by its own rule to that rule, not to its ancestor', () => {
    const rules = compileGroupRules([
      { name: 'shell', comm: ['bash'] },
      { name: '{{.Comm}}', cmdline: ['.+'] },
    ]);
    const facts = [
      proc(100, 1, { comm: 'bash', startTicks: 5 }),
      proc(101, 100, { comm: 'vim' }),
      proc(102, 100, { comm: 'bash', startTicks: 4 }),
    ];
    const groups = assignGroups(facts, rules);
    expect(summary(groups)).toEqual([
      ['shell', [100, 102]],
      ['vim', [101]],
    ]);
    expect(groups[0]?.oldest).toEqual({ pid: 102, startTicks: 4 });
  });

  it('does not take a reused pid for a parent, and survives ppid cycles', () => {
    const rules = compileGroupRules([{ name: 'web', comm: ['nginx'] }]);
    const facts = [
      proc(10, 1, { comm: 'nginx', startTicks: 500 }),
      proc(11, 10, { comm: 'sh', startTicks: 100 }),
      proc(30, 31),
      proc(31, 30),
      proc(40, 40),
    ];
    expect(summary(assignGroups(facts, rules))).toEqual([['web', [10]]]);
  });

  it('walks a deep chain linearly', () => {
    const depth = 20_000;
    const facts = [proc(1, 0, { comm: 'root' }), ...Array.from({ length: depth }, (_, i) => proc(i + 2, i + 1))];
    const groups = assignGroups(facts.reverse(), compileGroupRules([{ name: 'tree', comm: ['root'] }]));
    expect(groups[0]?.pids.length).toBe(depth + 1);
  });

  it('keeps the largest groups and sums the rest into a visible overflow group', () => {
    const rules = compileGroupRules([{ name: '{{.Comm}}', cmdline: ['.*'] }]);
    const facts = [
      ...[1, 2, 3].map((pid) => proc(pid, 0, { comm: 'a' })),
      ...[4, 5].map((pid) => proc(pid, 0, { comm: 'b' })),
      proc(6, 0, { comm: 'c', startTicks: 1 }),
      proc(7, 0, { comm: 'd' }),
      proc(8, 0, { comm: 'other' }),
    ];
    const groups = assignGroups(facts, rules, { maxGroups: 3 });
    expect(summary(groups)).toEqual([
      ['a', [1, 2, 3]],
      ['b', [4, 5]],
      ['other', [6, 7, 8]],
    ]);
    expect(groups[2]).toMatchObject({ rule: null, foldedGroups: 3, oldest: { pid: 6, startTicks: 1 }, labels: {} });
    expect(
      assignGroups(facts, rules, { maxGroups: 2, overflowName: 'rest' }).map((group) => [
        group.name,
        group.pids.length,
        group.foldedGroups,
      ]),
    ).toEqual([
      ['a', 3, 0],
      ['rest', 5, 4],
    ]);
    expect(assignGroups(facts, rules, { maxGroups: 10 })).toHaveLength(5);
  });

  it('renders labels for the group from its first member', () => {
    const rules = compileGroupRules([{ name: 'app', comm: ['node'], labels: { team: 'payments', unit: '{{.Unit}}' } }]);
    const groups = assignGroups([proc(3, 1, { comm: 'node', cgroup: '/system.slice/pay.service' })], rules);
    expect(groups[0]?.labels).toEqual({ team: 'payments', unit: 'pay.service' });
  });

  it('refuses bad options by name', () => {
    const rules = compileGroupRules([{ name: 'x', comm: ['x'] }]);
    expect(() => assignGroups([], rules, { maxGroups: 0 })).toThrow(/maxGroups must be a positive integer; got 0/);
    expect(() => assignGroups([], rules, { overflowName: '' })).toThrow(/overflowName must not be empty/);
  });
});
