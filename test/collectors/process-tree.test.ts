import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcfsCollector } from '../../src/collectors/index.js';
import { MonotonicCounter } from '../../src/collectors/procfs/monotonic.js';
import { descendantsOf, type ParentIndex } from '../../src/collectors/procfs/process-tree.js';
import { parseStat } from '../../src/collectors/procfs/parse-stat.js';
import { ProcParseError } from '../../src/collectors/procfs/parse-error.js';
import { killAll, spawnChild, spawnGroup, waitFor } from '../support/process.js';
import { sampleOne } from '../support/collectors.js';

afterEach(killAll);

function index(rows: readonly [pid: number, ppid: number, startTicks: number][]): ParentIndex {
  const children = new Map<number, number[]>();
  const startTicks = new Map<number, number>();
  for (const [pid, ppid, ticks] of rows) {
    startTicks.set(pid, ticks);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  return { children, startTicks };
}

describe('descendantsOf', () => {
  it('lists every descendant breadth first, each after its parent', () => {
    const table = index([
      [10, 1, 100],
      [11, 10, 110],
      [12, 10, 120],
      [13, 11, 130],
      [14, 13, 140],
      [20, 1, 50],
    ]);
    const found = descendantsOf(table, 10, 100);
    expect(found.map((d) => d.pid)).toEqual([11, 12, 13, 14]);
    for (const [at, d] of found.entries()) {
      expect(d.parent).toBeLessThan(at);
      const parentPid = d.parent < 0 ? 10 : found[d.parent]?.pid;
      expect(table.children.get(parentPid as number)).toContain(d.pid);
    }
  });

  it('leaves out a "child" older than its parent: the parent pid was reused', () => {
    // 30 is the root's pid now, but 31 started before it: its parent was an earlier 30.
    const table = index([
      [30, 1, 500],
      [31, 30, 400],
      [32, 31, 450],
      [33, 30, 600],
    ]);
    expect(descendantsOf(table, 30, 500).map((d) => d.pid)).toEqual([33]);
  });

  it('has nothing for a process without children', () => {
    expect(descendantsOf(index([[5, 1, 1]]), 5, 1)).toEqual([]);
  });
});

describe('MonotonicCounter', () => {
  it('adds each rise of the raw sum and ignores each fall', () => {
    const counter = new MonotonicCounter();
    expect([10, 12, 7, 9, 9, 20].map((raw) => counter.next(raw))).toEqual([10, 12, 12, 14, 14, 25]);
  });

  it('passes unknown through and starts again from the next known value', () => {
    const counter = new MonotonicCounter();
    expect([5, null, 3, 4].map((raw) => counter.next(raw))).toEqual([5, null, 3, 4]);
  });
});

/** The parent's own CPU seconds plus its reaped children's, from its stat. */
function cpuWithChildren(pid: number): number {
  const stat = parseStat(readFileSync(`/proc/${pid}/stat`));
  if (stat instanceof ProcParseError) throw stat;
  return (stat.userTicks + stat.systemTicks + stat.childrenUserTicks + stat.childrenSystemTicks) / 100;
}

describe('a process tree, read from real processes', () => {
  it('counts the live descendants and sums their memory, threads and fds', async () => {
    const shell = spawnGroup('sh', ['-c', 'sleep 1000 & sleep 1000 & (sleep 1000 & wait) & wait']);
    const pid = shell.pid as number;
    const collector = new ProcfsCollector();
    try {
      // sh, two sleeps, a subshell and its sleep.
      const tree = await waitFor(
        async () => {
          const sample = await sampleOne(collector, { pid, descendants: true });
          return sample.processCount === 5 && sample;
        },
        { what: 'five processes in the tree' },
      );
      const single = await sampleOne(collector, { pid });
      expect(single.processCount ?? 1).toBe(1);
      expect(tree.pid).toBe(pid);
      expect(tree.startTime).toBe(single.startTime);
      // Each sleep and sh holds memory of its own: five processes hold several times one.
      expect(tree.memory.rss).toBeGreaterThan(single.memory.rss * 2.5);
      expect(tree.numThreads).toBe(5);
      expect(tree.numFDs).toBeGreaterThan(single.numFDs as number);
      expect(tree.cpu.childrenUser).toBe(0);
      expect(tree.cpu.childrenSystem).toBe(0);
    } finally {
      collector.close();
    }
  });

  it('reuses one pass over /proc for treeIndexMaxAgeMs: a new child counts once the pass is that old', async () => {
    // A shell that starts one child after half a second, then waits.
    const shell = spawnGroup('sh', ['-c', 'sleep 0.5; sleep 1000 & wait']);
    const pid = shell.pid as number;
    const reusing = new ProcfsCollector({ treeIndexMaxAgeMs: 60_000 });
    const fresh = new ProcfsCollector({ treeIndexMaxAgeMs: 0 });
    try {
      // Once sh has started its first sleep, the reusing collector makes its one pass.
      await waitFor(async () => (await sampleOne(fresh, { pid, descendants: true })).processCount === 2, { what: 'the first sleep' });
      expect((await sampleOne(reusing, { pid, descendants: true })).processCount).toBe(2);
      // The first sleep ends at 0.5 s and the second starts.
      await sleep(800);
      const fromOldPass = await sampleOne(reusing, { pid, descendants: true });
      const fromNewPass = await sampleOne(fresh, { pid, descendants: true });
      // The first sleep has ended and the second runs: only a new pass finds it.
      expect(fromNewPass.processCount).toBe(2);
      expect(fromOldPass.processCount).toBe(1);
      expect(() => new ProcfsCollector({ treeIndexMaxAgeMs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    } finally {
      reusing.close();
      fresh.close();
    }
  });

  it('keeps a monotonic CPU time while busy children fork and exit, equal to the parent with its reaped children', async () => {
    // A shell that forks a subshell burning CPU, waits for it, and does it again.
    const script = 'while :; do ( i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done ); sleep 0.02; done';
    const shell = spawnGroup('sh', ['-c', script]);
    const pid = shell.pid as number;
    const collector = new ProcfsCollector();
    try {
      const readings: number[] = [];
      const started = Date.now();
      let maxCount = 0;
      while (Date.now() - started < 3000) {
        const sample = await sampleOne(collector, { pid, descendants: true });
        readings.push(sample.cpu.user + sample.cpu.system);
        maxCount = Math.max(maxCount, sample.processCount ?? 1);
        await sleep(37);
      }
      for (let i = 1; i < readings.length; i++) expect(readings[i]).toBeGreaterThanOrEqual(readings[i - 1] as number);
      expect(maxCount).toBeGreaterThanOrEqual(2);
      // Stop the shell between children (it is then sleeping or forking): compare with its own accounting.
      shell.kill('SIGSTOP');
      await sleep(50);
      const last = await sampleOne(collector, { pid, descendants: true });
      const truth = cpuWithChildren(pid);
      const liveChildrenCpu = last.cpu.user + last.cpu.system - truth;
      // What the tree counts beyond the parent's own books is at most one live child's run.
      expect(liveChildrenCpu).toBeGreaterThanOrEqual(-0.02);
      expect(Math.abs(liveChildrenCpu)).toBeLessThanOrEqual(0.05 + 0.05 * truth);
      // The children did real work: most of the CPU is theirs, which a single-process read misses.
      const single = await sampleOne(collector, { pid });
      expect(truth).toBeGreaterThan(0.3);
      expect(single.cpu.user + single.cpu.system).toBeLessThan(truth / 2);
    } finally {
      shell.kill('SIGKILL');
      collector.close();
    }
  });

  it('never goes backwards when a busy child leaves the tree without being reaped by it', async () => {
    // A subshell starts a busy child and exits after 0.6 s: the child is orphaned
    // (adopted by init) and its CPU time leaves the tree's raw sum.
    const busy = 'i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done';
    const shell = spawnChild('sh', ['-c', `( sh -c '${busy}' & sleep 0.6 ) ; sleep 1000`], { detached: true });
    const pid = shell.pid as number;
    const collector = new ProcfsCollector();
    try {
      const readings: number[] = [];
      const counts: number[] = [];
      const started = Date.now();
      while (Date.now() - started < 1500) {
        const sample = await sampleOne(collector, { pid, descendants: true });
        readings.push(sample.cpu.user + sample.cpu.system);
        counts.push(sample.processCount ?? 1);
        await sleep(50);
      }
      // The busy child was in the tree (sh, the subshell that became sleep 0.6, the child), then left it (sh, sleep).
      expect(Math.max(...counts)).toBe(3);
      expect(counts.at(-1)).toBe(2);
      expect(readings.at(-1)).toBeGreaterThan(0.2);
      for (let i = 1; i < readings.length; i++) expect(readings[i]).toBeGreaterThanOrEqual(readings[i - 1] as number);
    } finally {
      process.kill(-pid, 'SIGKILL');
      collector.close();
    }
  });
});
