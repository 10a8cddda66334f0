// track(name, target, { labels }): extra labels of a service, validated and carried on its snapshots.
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentTypeError, InvalidArgumentValueError, OutOfRangeError, type ProcessMetrics } from '../../src/index.js';
import { killAll, killAndWait, spawnIdle, waitFor } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';

const newTracker = trackerFactory({ collectionInterval: 100 });
afterEach(killAll);

describe('service labels', () => {
  it('are on every snapshot, the same frozen object from tick to tick, in get, getAll and subscribe', async () => {
    const tracker = newTracker();
    const idle = spawnIdle();
    await tracker.track('api', idle.pid, { labels: { tier: '1', team: 'payments' } });
    const first = tracker.get('api') as ProcessMetrics;
    expect(first.labels).toEqual({ team: 'payments', tier: '1' });
    expect(Object.isFrozen(first.labels)).toBe(true);
    const seen: ProcessMetrics[] = [];
    const subscription = tracker.subscribe();
    void (async () => {
      for await (const snapshot of subscription) seen.push(snapshot);
    })();
    tracker.start();
    await waitFor(() => seen.length >= 2, { what: 'two ticks' });
    expect(seen[0]?.labels).toBe(seen[1]?.labels);
    expect(seen[1]?.labels).toBe(tracker.getAll()[0]?.labels);
    expect(seen[1]?.labels).toBe(first.labels);
  });

  it('stay across a restart when track() gives none, and track() with other labels replaces them', async () => {
    const tracker = newTracker();
    const one = spawnIdle();
    await tracker.track('api', one.pid, { labels: { team: 'a' } });
    await killAndWait(one);
    const two = spawnIdle();
    await tracker.track('api', two.pid);
    expect(tracker.get('api')).toMatchObject({ restartCount: 1, labels: { team: 'a' } });
    await tracker.track('api', two.pid, { labels: { team: 'b' } });
    expect(tracker.get('api')?.labels).toEqual({ team: 'b' });
    await tracker.track('api', two.pid, { labels: {} });
    expect(tracker.get('api')?.labels).toEqual({});
  });

  it('a service without labels has an empty set, and so has one only registered', async () => {
    const tracker = newTracker();
    const idle = spawnIdle();
    await tracker.track('api', idle.pid);
    tracker.register('later');
    expect(tracker.get('api')?.labels).toEqual({});
    expect(tracker.get('later')?.labels).toEqual({});
  });

  it.each([
    ['not an object', 'team=a', InvalidArgumentTypeError, /options\.labels must be an object; got/],
    ['an array', ['a'], InvalidArgumentTypeError, /options\.labels must be an object/],
    ['null', null, InvalidArgumentTypeError, /options\.labels must be an object; got null/],
    ['a dotted name', { 'team.name': 'a' }, InvalidArgumentValueError, /label names must match .*got "team\.name"/],
    ['a name with a leading digit', { '1team': 'a' }, InvalidArgumentValueError, /got "1team"/],
    ['a name starting with __', { __team: 'a' }, InvalidArgumentValueError, /not start with __; got "__team"/],
    ['service_name', { service_name: 'x' }, InvalidArgumentValueError, /"service_name" is one procmetrics emits itself/],
    ['procmetrics_state', { procmetrics_state: 'x' }, InvalidArgumentValueError, /"procmetrics_state" is one procmetrics emits/],
    ['cpu_mode, a dimension of the table', { cpu_mode: 'x' }, InvalidArgumentValueError, /"cpu_mode" is one/],
    ['disk_io_direction', { disk_io_direction: 'x' }, InvalidArgumentValueError, /"disk_io_direction" is one/],
    ['le', { le: 'x' }, InvalidArgumentValueError, /"le" is one/],
    ['a value not a string', { team: 1 }, InvalidArgumentTypeError, /options\.labels\.team must be a string; got 1/],
    ['an empty value', { team: '' }, InvalidArgumentValueError, /options\.labels\.team must not be empty/],
    [
      'a value too long',
      { team: 'x'.repeat(257) },
      InvalidArgumentValueError,
      /options\.labels\.team must be at most 256 characters; got 257/,
    ],
    ['a control character', { team: 'a\nb' }, InvalidArgumentValueError, /options\.labels\.team must not contain control characters/],
    [
      'nine labels',
      Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((k) => [k, 'v'])),
      OutOfRangeError,
      /at most 8 labels; got 9/,
    ],
  ])('refuses %s with a typed error naming it, tracking nothing', async (_what, labels, type, message) => {
    const tracker = newTracker();
    const idle = spawnIdle();
    const attempt = tracker.track('api', idle.pid, { labels: labels as Record<string, string> });
    await expect(attempt).rejects.toThrow(type);
    await expect(attempt).rejects.toThrow(message);
    expect(tracker.get('api')).toBeUndefined();
  });
});
