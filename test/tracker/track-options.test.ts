// track(name, pid, { state, exitState }): the state a process starts in and what its exit means.
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessMetrics, Tracker } from '../../src/index.js';
import { killAll, killAndWait, spawnIdle, waitFor } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';

const newTracker = trackerFactory({ collectionInterval: 100 });
afterEach(killAll);

/** Every state published for `name`, in order, from now on. */
function statesOf(tracker: Tracker, name: string): { states: string[]; errors: string[] } {
  const seen = { states: [] as string[], errors: [] as string[] };
  const subscription = tracker.subscribe({ bufferSize: 1024 });
  void (async () => {
    for await (const snapshot of subscription as AsyncIterable<ProcessMetrics>) {
      if (snapshot.serviceName !== name) continue;
      if (seen.states.at(-1) !== snapshot.state) seen.states.push(snapshot.state);
      seen.errors.push(snapshot.lastError);
    }
  })();
  return seen;
}

describe('track options', () => {
  it('state: starting publishes starting first, never running, and is not healthy', async () => {
    const tracker = newTracker();
    const seen = statesOf(tracker, 'api');
    const idle = spawnIdle();
    await tracker.track('api', idle.pid, { state: 'starting' });
    expect(tracker.get('api')).toMatchObject({ state: 'starting', healthy: false, pid: idle.pid });
    await waitFor(() => seen.states.length > 0, { what: 'a published snapshot' });
    expect(seen.states).toEqual(['starting']);
  });

  it('exitState: stopped turns an exit into stopped directly, with no failed in between', async () => {
    const tracker = newTracker();
    const seen = statesOf(tracker, 'api');
    const idle = spawnIdle();
    await tracker.track('api', idle.pid, { exitState: 'stopped' });
    tracker.start();
    await killAndWait(idle);
    await waitFor(() => tracker.get('api')?.state === 'stopped', { what: 'api stopped' });
    expect(tracker.get('api')?.lastError).toBe(`process ${idle.pid} exited`);
    expect(seen.states).toEqual(['running', 'stopped']);
  });

  it('without options an exit is still a failure', async () => {
    const tracker = newTracker();
    const seen = statesOf(tracker, 'api');
    const idle = spawnIdle();
    await tracker.track('api', idle.pid);
    tracker.start();
    await killAndWait(idle);
    await waitFor(() => tracker.get('api')?.state === 'failed', { what: 'api failed' });
    expect(tracker.get('api')?.lastError).toBe(`process ${idle.pid} exited`);
    expect(seen.states).toEqual(['running', 'failed']);
  });

  it.each([
    [{ state: 'stopped' }, 'options.state'],
    [{ exitState: 'running' }, 'options.exitState'],
  ])('refuses %j with a typed error naming the option, tracking nothing', async (options, name) => {
    const tracker = newTracker();
    const idle = spawnIdle();
    await expect(tracker.track('api', idle.pid, options as object)).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
      message: expect.stringContaining(name),
    });
    expect(tracker.get('api')).toBeUndefined();
  });
});
