// Track, change state, untrack, over and over: nothing accumulates.
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessState } from '../../src/index.js';
import { killAll, spawnIdle } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';
import { heapAfterGc, openFds, report, size } from './core-support.js';

const CYCLES = size(10_000, 200_000);
const newTracker = trackerFactory({ collectionInterval: 50 });
afterEach(killAll);

describe(`churn soak: ${CYCLES} track/state/untrack cycles`, () => {
  it('returns to the heap and fds it started with', async () => {
    const pids = [spawnIdle().pid, spawnIdle().pid, spawnIdle().pid, process.pid];
    const tracker = newTracker();
    const sub = tracker.subscribe({ bufferSize: 16 });
    tracker.start();
    // Warm up, so that lazily made things (buffers, caches, the JIT's code) exist before measuring,
    // and let the last samples' timeout timers expire before each measurement.
    for (let i = 0; i < 2_000; i++) await cycle(i);
    await sleep(200);
    const fdsBefore = openFds();
    const heapBefore = heapAfterGc();
    const started = performance.now();
    for (let i = 0; i < CYCLES; i++) await cycle(i);
    const elapsedMs = performance.now() - started;
    await tracker.stop();
    await sleep(200);
    const heapGrowth = heapAfterGc() - heapBefore;
    const fdsAfter = openFds();
    report('churn-soak', {
      cycles: CYCLES,
      elapsedMs: Math.round(elapsedMs),
      heapGrowthBytes: heapGrowth,
      fdsBefore,
      fdsAfter,
      services: tracker.stats().services,
      ticks: tracker.stats().ticks,
    });
    expect(tracker.stats().services).toBe(0);
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore);
    expect(heapGrowth).toBeLessThan(5 * 1024 * 1024);
    sub.close();

    async function cycle(i: number): Promise<void> {
      // A real caller comes back from the event loop between calls; without it
      // no timer (the tick, a sample's timeout) would ever run.
      if (i % 10 === 0) await nextTurn();
      const name = `svc-${i % 97}`;
      await tracker.track(name, pids[i % pids.length] as number);
      tracker.updateHealth(name, i % 3 !== 0);
      tracker.updateState(name, i % 2 ? ProcessState.Stopping : ProcessState.Failed, `cycle ${i}`);
      if (i % 5 !== 0) tracker.untrack(name);
      else tracker.register(name); // known already: changes nothing
      if (i % 5 === 0) tracker.untrack(name);
    }
  }, 300_000);
});
