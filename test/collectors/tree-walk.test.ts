import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { HostRoot } from '../../src/collectors/procfs/host-root.js';
import { parseStat } from '../../src/collectors/procfs/parse-stat.js';
import { ProcParseError } from '../../src/collectors/procfs/parse-error.js';
import { scanParents } from '../../src/collectors/procfs/process-tree.js';
import { Stretch } from '../../src/collectors/sweep.js';
import { closeCollectors, procfsCollector, sampleOf } from '../support/collectors.js';
import { killAll, spawnGroup, waitFor } from '../support/process.js';
import { describeWhere } from '../support/requires.js';
import { countTurns, turnsDuring } from '../support/turns.js';

/** Sleeps under one shell: a host with thousands of processes, and one big tree. */
const CROWD = 2500;
/** A stretch of the walk in these tests: at most this many processes read before the event loop gets a turn. */
const CHUNK = 100;

/** Live processes under `root`, counted by a fresh, plain walk of /proc: the reference the collector must match. */
function liveTreeSize(root: number): number {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = parseStat(readFileSync(`/proc/${name}/stat`));
    } catch {
      continue; // exited meanwhile
    }
    if (stat instanceof ProcParseError || stat.state === 'Z') continue;
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(name)]);
  }
  let count = 0;
  const pending = [root];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    count++;
    pending.push(...(children.get(pid) ?? []));
  }
  return count;
}

/** How many direct children `pid` has now. */
function childCount(pid: number): number {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).length;
  } catch {
    return 0;
  }
}

describeWhere(process.platform === 'linux' ? undefined : 'needs Linux', `the walk over /proc on a host of ${CROWD}+ processes`, () => {
  let crowd: number;
  let small: number;

  beforeAll(async () => {
    const shell = spawnGroup('sh', ['-c', `i=0; while [ $i -lt ${CROWD} ]; do sleep 100000 & i=$((i+1)); done; wait`]);
    const pair = spawnGroup('sh', ['-c', 'sleep 100000 & sleep 100000 & wait']);
    crowd = shell.pid as number;
    small = pair.pid as number;
    await waitFor(() => childCount(crowd) >= CROWD && childCount(small) >= 2, {
      timeoutMs: 180_000,
      intervalMs: 200,
      what: `${CROWD} sleeps`,
    });
  }, 200_000);

  afterEach(closeCollectors);
  afterAll(killAll);

  it('reads at most one stretch of processes between turns of the event loop', async () => {
    const loop = countTurns();
    const readInTurn = new Map<number, number>();
    try {
      // A budget far above any stretch's duration: only the chunk size decides where the walk yields.
      const index = await scanParents(new HostRoot('/proc'), new Stretch({ chunkSize: CHUNK, chunkBudgetMs: 60_000 }), () => {
        readInTurn.set(loop.turns, (readInTurn.get(loop.turns) ?? 0) + 1);
      });
      expect(index.startTicks.size).toBeGreaterThan(CROWD);
      expect(index.children.get(crowd)?.length).toBe(CROWD);
    } finally {
      loop.stop();
    }
    expect(Math.max(...readInTurn.values())).toBeLessThanOrEqual(CHUNK);
    expect(readInTurn.size).toBeGreaterThanOrEqual(Math.floor(CROWD / CHUNK));
  });

  it('gives the event loop turns during every sweep of trees, the first included, and finds what a fresh full walk finds', async () => {
    const collector = procfsCollector({ chunkSize: CHUNK, chunkBudgetMs: 60_000, treeIndexMaxAgeMs: 0, maxOpenFds: 1000 });
    // The first pass, at start-up, too: a supervisor taking on thousands of services must not stall.
    expect((await turnsDuring(() => collector.sample([{ pid: small, descendants: true }]))).turns).toBeGreaterThanOrEqual(
      Math.floor(CROWD / CHUNK),
    );
    const { result, turns } = await turnsDuring(() =>
      collector.sample([
        { pid: small, descendants: true },
        { pid: crowd, descendants: true },
      ]),
    );
    expect(turns).toBeGreaterThanOrEqual(Math.floor(CROWD / CHUNK));
    expect(result.map((outcome) => sampleOf(outcome).processCount)).toEqual([liveTreeSize(small), liveTreeSize(crowd)]);
    expect(liveTreeSize(crowd)).toBe(CROWD + 1);
  });

  it('keeps overlapping sweeps apart: each finds every tree whole', async () => {
    const collector = procfsCollector({ chunkSize: CHUNK, chunkBudgetMs: 60_000, treeIndexMaxAgeMs: 0, maxOpenFds: 1000 });
    const targets = [{ pid: crowd, descendants: true }, ...Array.from({ length: 3 * CHUNK }, () => ({ pid: small, descendants: true }))];
    const sweeps = await Promise.all([collector.sample(targets), collector.sample(targets), collector.sample(targets.slice(0, 1))]);
    const sizes = new Map([
      [crowd, liveTreeSize(crowd)],
      [small, liveTreeSize(small)],
    ]);
    for (const outcomes of sweeps) {
      const expected = targets.slice(0, outcomes.length).map((target) => sizes.get(target.pid));
      expect(outcomes.map((outcome) => sampleOf(outcome).processCount)).toEqual(expected);
    }
  });
});
