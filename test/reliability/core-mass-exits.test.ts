// Half of many tracked real processes are killed while a tick is in flight.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessState, type ProcessMetrics } from '../../src/index.js';
import { GatedCollector, gate } from '../support/fake-collector.js';
import { waitFor } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';
import { report, size } from './core-support.js';

const TOTAL = size(1_000, 1_000);
const KILLED = TOTAL / 2;
const newTracker = trackerFactory({ collectionInterval: 2_000 });

/** `count` sleeping children of one shell (which reaps them); resolves with their pids. */
async function sleepers(count: number): Promise<{ pids: number[]; stop: () => Promise<void> }> {
  const shell = spawn('sh', ['-c', `i=0; while [ $i -lt ${count} ]; do sleep 1000 & echo $!; i=$((i+1)); done; wait`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const pids: number[] = [];
  const lines = createInterface({ input: shell.stdout });
  for await (const line of lines) {
    pids.push(Number(line));
    if (pids.length === count) break;
  }
  const stop = async (): Promise<void> => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (shell.exitCode === null) {
      shell.kill('SIGKILL');
      await once(shell, 'exit');
    }
  };
  return { pids, stop };
}

let cleanup: (() => Promise<void>) | undefined;
afterAll(async () => cleanup?.());

describe(`mass exits: ${KILLED} of ${TOTAL} tracked processes killed mid-tick`, () => {
  it('reports every exit once, keeps the survivors, blames no timeout on the living', async () => {
    const { pids, stop } = await sleepers(TOTAL);
    cleanup = stop;
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    for (const [i, pid] of pids.entries()) await tracker.track(`svc-${i}`, pid);
    const events: ProcessMetrics[] = [];
    const sub = tracker.subscribe({ bufferSize: TOTAL * 4 });
    const reading = (async () => {
      for await (const m of sub) events.push(m);
    })();

    const held = gate();
    collector.gate = held.promise;
    tracker.start();
    await waitFor(() => collector.inFlight > 0, { what: 'the tick to start' });
    const killed = new Set(pids.slice(0, KILLED));
    for (const pid of killed) process.kill(pid, 'SIGKILL');
    // Once each is dead (a zombie or already reaped by the shell), let the tick read. Waiting
    // for the shell to reap all 500 took over 10 s on a loaded machine, longer than the sample budget.
    await waitFor(() => [...killed].every((pid) => !isAlive(pid)), { what: 'the kills' });
    collector.gate = undefined;
    held.open();
    await waitFor(() => tracker.stats().processExits >= KILLED, { what: 'the exits', timeoutMs: 20_000 });
    const ticks = tracker.stats().ticks;
    await waitFor(() => tracker.stats().ticks >= ticks + 1, { what: 'one more tick', timeoutMs: 20_000 });
    await tracker.stop();
    sub.close();
    await reading;

    const failedByName = new Map<string, number>();
    for (const m of events)
      if (m.state === ProcessState.Failed) failedByName.set(m.serviceName, (failedByName.get(m.serviceName) ?? 0) + 1);
    const all = tracker.getAll();
    const failed = all.filter((m) => m.state === 'failed');
    const running = all.filter((m) => m.state === 'running');
    const stats = tracker.stats();
    report('mass-exits', {
      tracked: TOTAL,
      killed: KILLED,
      failedServices: failed.length,
      failedEventsMax: Math.max(...failedByName.values()),
      running: running.length,
      processExits: stats.processExits,
      collectionTimeouts: stats.collectionTimeouts,
      collectionErrors: stats.collectionErrors,
      lastTickMs: Math.round(stats.lastTickDurationMs),
      droppedSnapshots: stats.droppedSnapshots,
    });
    expect(failed.map((m) => m.lastError).every((e) => /^process \d+ exited$/.test(e))).toBe(true);
    expect(failed).toHaveLength(KILLED);
    expect(failedByName.size).toBe(KILLED);
    expect([...failedByName.values()].every((n) => n === 1)).toBe(true);
    expect(running).toHaveLength(TOTAL - KILLED);
    for (const m of running) expect(killed.has(m.pid)).toBe(false);
    expect(new Set(running.map((m) => m.pid)).size).toBe(TOTAL - KILLED);
    expect(stats).toMatchObject({ processExits: KILLED, collectionTimeouts: 0, collectionErrors: 0, droppedSnapshots: 0 });
  }, 120_000);
});

/** Running, as /proc tells: false once it is a zombie or gone. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}
