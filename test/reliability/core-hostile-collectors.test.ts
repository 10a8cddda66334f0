// Collectors that hang, throw, or answer nonsense: the tracker keeps ticking,
// counts errors, never marks a service failed, and stops promptly.
import { afterEach, describe, expect, it } from 'vitest';
import { ProcfsCollector, type Collector, type SampleOutcome, type SampleTarget } from '../../src/index.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';
import { report, size } from './core-support.js';

const TICKS = size(20, 500);
const newTracker = trackerFactory({ collectionInterval: 20 });
afterEach(killAll);

/** Reads /proc for real until told to misbehave. */
class Hostile implements Collector {
  readonly real = new ProcfsCollector();
  mode: 'real' | keyof typeof BEHAVIOURS = 'real';
  sample(targets: readonly SampleTarget[], signal?: AbortSignal): Promise<SampleOutcome[]> {
    if (this.mode === 'real') return this.real.sample(targets, signal);
    return BEHAVIOURS[this.mode](targets);
  }
  close(): void {
    this.real.close();
  }
}

const never = (): Promise<never> => new Promise(() => {});
const BEHAVIOURS = {
  hangs: () => never(),
  rejects: () => Promise.reject(new Error('collector broke')),
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a collector that rejects with a non-Error
  'rejects with a string': () => Promise.reject('not an Error'),
  'throws synchronously': (): Promise<SampleOutcome[]> => {
    throw new TypeError('sample is broken');
  },
  'returns no array': () => Promise.resolve({ length: 1 } as unknown as SampleOutcome[]),
  'returns too few': () => Promise.resolve([]),
  'returns garbage outcomes': (targets: readonly SampleTarget[]) =>
    Promise.resolve(targets.map((_, i) => [null, 42, { ok: 'yes' }, { ok: true }][i % 4] as unknown as SampleOutcome)),
  'rejects with EMFILE': () => Promise.reject(Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' })),
} satisfies Record<string, (targets: readonly SampleTarget[]) => Promise<SampleOutcome[]>>;

describe(`hostile collectors, ${TICKS} ticks each`, () => {
  it.each(Object.keys(BEHAVIOURS) as (keyof typeof BEHAVIOURS)[])(
    'one that %s',
    async (mode) => {
      const collector = new Hostile();
      const tracker = newTracker(collector);
      const pids = [spawnIdle().pid, spawnIdle().pid, spawnIdle().pid, spawnIdle().pid];
      for (const [i, pid] of pids.entries()) await tracker.track(`svc-${i}`, pid);
      tracker.start();
      collector.mode = mode;
      const ticks = tracker.stats().ticks;
      await waitFor(() => tracker.stats().ticks >= ticks + TICKS, { what: `${TICKS} ticks`, timeoutMs: 60_000 });
      // A track() meanwhile fails with the collector's error, not as a missing process.
      const late = await tracker.track('late', spawnIdle().pid).then(
        () => 'tracked',
        (e: unknown) => (e as Error).name,
      );
      collector.mode = 'real';
      const stopStarted = performance.now();
      await tracker.stop();
      const stopMs = performance.now() - stopStarted;
      const stats = tracker.stats();
      report(`hostile-collector ${mode}`, {
        ticks: stats.ticks - ticks,
        collectionErrors: stats.collectionErrors,
        collectionTimeouts: stats.collectionTimeouts,
        processExits: stats.processExits,
        lateTrack: late,
        stopMs: Math.round(stopMs),
      });
      expect(late).not.toBe('ProcessNotFoundError');
      expect(stats.processExits).toBe(0);
      expect(stats.collectionErrors).toBeGreaterThanOrEqual(4 * TICKS);
      expect(tracker.getAll().every((m) => m.state === 'running')).toBe(true);
      expect(stopMs).toBeLessThan(2_000);
    },
    90_000,
  );
});
