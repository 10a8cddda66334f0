// Real pid reuse: a tracked process exits and the kernel hands its pid to a new
// process (steered through /proc/sys/kernel/ns_last_pid, which root may write).
import { type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { ProcessNotFoundError } from '../../src/index.js';
import { killAll, killAndWait, spawnChild, spawnIdle, waitFor } from '../support/process.js';
import { describeWhere, missingForPidSteering, NS_LAST_PID } from '../support/requires.js';
import { trackerFactory } from '../support/trackers.js';
import { report, size } from './core-support.js';

const CYCLES = size(20, 200);
const newTracker = trackerFactory({ collectionInterval: 100 });
afterEach(killAll);

/** A new process with exactly `pid`, or undefined when another process took it first. */
async function spawnAt(pid: number): Promise<ChildProcess | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    writeFileSync(NS_LAST_PID, String(pid - 1));
    const child = spawnChild('sleep', ['1000']);
    if (child.pid === pid) return child;
    await killAndWait(child);
  }
  return undefined;
}

describeWhere(missingForPidSteering(), `pid reuse, ${CYCLES} cycles`, () => {
  it('never reads a new process at a reused pid as the tracked one', async () => {
    let reused = 0;
    let refusedByStartTime = 0;
    const tracker = newTracker();
    tracker.start();
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const old = spawnIdle();
      const name = `svc-${cycle}`;
      await tracker.track(name, old.pid);
      const oldStart = tracker.get(name)?.startTime as number;
      await killAndWait(old);
      // /proc counts start times in clock ticks (10 ms at 100 Hz): two processes
      // started within one tick cannot be told apart by anyone, so start the next one later.
      await sleep(Math.max(0, oldStart + 30 - Date.now()));
      const successor = await spawnAt(old.pid);
      // The tick sees the old process gone, whatever now runs at its pid.
      await waitFor(() => tracker.get(name)?.state === 'failed', { what: `cycle ${cycle}: the exit` });
      expect(tracker.get(name)).toMatchObject({ pid: 0, lastError: `process ${old.pid} exited` });
      // Rarely another process on the machine takes the pid first; then there is no reuse to test.
      if (!successor) continue;
      reused += 1;
      // A caller that resolved the old identity is refused, not handed the successor.
      const error = await tracker.track(name, old.pid, { startTime: oldStart }).catch((e: unknown) => e);
      if (error instanceof ProcessNotFoundError) refusedByStartTime += 1;
      expect(tracker.get(name)?.state).toBe('failed');
      successor.kill('SIGKILL');
    }
    await tracker.stop();
    report('pid-reuse', { cycles: CYCLES, reused, refusedByStartTime, processExits: tracker.stats().processExits });
    expect(reused).toBeGreaterThan(CYCLES / 2);
    expect(refusedByStartTime).toBe(reused);
    expect(tracker.stats().processExits).toBe(CYCLES);
  }, 120_000);
});
