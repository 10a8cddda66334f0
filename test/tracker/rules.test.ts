// The tracker's rules through the production path: the /proc collector on real
// child processes; the gated wrapper and the table collector only for timing,
// hangs and exact arithmetic.
import { afterEach, describe, expect, it } from 'vitest';
import {
  ProcessNotFoundError,
  ProcessState,
  SubscriberLimitError,
  Tracker,
  TrackerClosedError,
  type Collector,
  type ProcessMetrics,
  type TrackerOptions,
} from '../../src/index.js';
import type { MeterProvider } from '@opentelemetry/api';
import { GatedCollector, TableCollector, gate } from '../support/fake-collector.js';
import { killAll, killAndWait, spawnIdle, waitFor } from '../support/process.js';
import { drain } from '../support/subscriptions.js';
import { trackerFactory } from '../support/trackers.js';

const newTracker = trackerFactory({ collectionInterval: 40 });
afterEach(killAll);

describe('validation: bad input is a typed error and changes nothing', () => {
  it.each([
    ['', TypeError],
    ['x'.repeat(257), TypeError],
    ['bad\nname', TypeError],
    ['tab\there', TypeError],
    [42, TypeError],
    [undefined, TypeError],
    ['lone \ud800 surrogate', TypeError],
    ['\udc00', TypeError],
  ])('service name %j', async (name, kind) => {
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    await expect(tracker.track(name as string, process.pid)).rejects.toBeInstanceOf(kind);
    await expect(tracker.track(name as string, process.pid)).rejects.toThrow(/serviceName/);
    expect(tracker.getAll()).toEqual([]);
    expect(collector.sweeps).toEqual([]);
  });

  it('accepts a name of exactly 256 characters, and well-formed surrogate pairs', async () => {
    const tracker = newTracker();
    await tracker.track('é'.repeat(256), process.pid);
    await tracker.track('emoji \ud83d\ude00', process.pid);
    expect(tracker.getAll()).toHaveLength(2);
  });

  it.each([0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '12', null])('pid %j', async (pid) => {
    const tracker = newTracker();
    const attempt = tracker.track('api', pid as number);
    await expect(attempt).rejects.toBeInstanceOf(RangeError);
    await expect(tracker.track('api', pid as number)).rejects.toThrow(/pid must be a positive safe integer; got/);
    expect(tracker.getAll()).toEqual([]);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5000', 2 ** 31])('collectionInterval %j', (interval) => {
    expect(() => new Tracker(new TableCollector(), { collectionInterval: interval as number })).toThrow(RangeError);
    expect(() => new Tracker(new TableCollector(), { collectionInterval: interval as number })).toThrow(/collectionInterval/);
  });

  it.each([
    ['subscriberBufferSize', 0],
    ['maxSubscribers', -1],
    ['maxSubscribers', 2.5],
  ])('%s %j', (option, value) => {
    expect(() => new Tracker(new TableCollector(), { [option]: value })).toThrow(RangeError);
  });

  it('rejects an unknown state and a non-boolean health, leaving the service as it was', async () => {
    const tracker = newTracker();
    await tracker.track('api', process.pid);
    const before = tracker.get('api');
    expect(() => tracker.updateState('api', 'crashed' as ProcessState)).toThrow(RangeError);
    expect(() => tracker.updateState('api', 'Running' as ProcessState)).toThrow(/state must be one of/);
    expect(() => tracker.updateHealth('api', 'yes' as unknown as boolean)).toThrow(TypeError);
    expect(tracker.get('api')).toEqual(before);
  });

  it('a pid with no process rejects with ProcessNotFoundError and tracks nothing', async () => {
    const gone = spawnIdle();
    await killAndWait(gone);
    const tracker = newTracker();
    const error = await tracker.track('api', gone.pid).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessNotFoundError);
    expect(error).toMatchObject({ code: 'ESRCH', pid: gone.pid });
    expect(tracker.get('api')).toBeUndefined();
  });

  it('a failed re-track leaves the existing service untouched', async () => {
    const live = spawnIdle();
    const gone = spawnIdle();
    await killAndWait(gone);
    const tracker = newTracker();
    await tracker.track('api', live.pid);
    await expect(tracker.track('api', gone.pid)).rejects.toBeInstanceOf(ProcessNotFoundError);
    expect(tracker.get('api')).toMatchObject({ pid: live.pid, restartCount: 0 });
  });
});

describe('register', () => {
  it('makes a service known before it has a process, published at once', async () => {
    const tracker = newTracker();
    const sub = tracker.subscribe();
    expect(tracker.register('api', ProcessState.Stopped, 'nothing matches yet')).toBe(true);
    const [m] = await drain(sub, 1);
    expect(m).toMatchObject({ serviceName: 'api', pid: 0, state: 'stopped', lastError: 'nothing matches yet' });
    expect(tracker.get('api')?.restartCount).toBe(0);
  });

  it('does not count the first process as a restart, but the second', async () => {
    const [first, second] = [spawnIdle(), spawnIdle()];
    const tracker = newTracker();
    tracker.register('api');
    await tracker.track('api', first.pid);
    expect(tracker.get('api')).toMatchObject({ pid: first.pid, state: 'running', restartCount: 0, healthy: true });
    await tracker.track('api', second.pid);
    expect(tracker.get('api')?.restartCount).toBe(1);
  });

  it('changes nothing for a known name, and validates like track()', async () => {
    const tracker = newTracker();
    await tracker.track('api', process.pid);
    expect(tracker.register('api', ProcessState.Failed)).toBe(false);
    expect(tracker.get('api')).toMatchObject({ pid: process.pid, state: 'running' });
    expect(() => tracker.register('')).toThrow(TypeError);
    expect(() => tracker.register('x', 'gone' as ProcessState)).toThrow(RangeError);
    expect(tracker.getAll()).toHaveLength(1);
  });
});

describe('restarts', () => {
  it('clears the last error and measures CPU from the new process only', async () => {
    const fake = new TableCollector();
    const now = Date.now();
    // The old process used a lot of CPU; the new one started 10 s ago and used 1 s.
    fake.add(20, { user: 500, system: 100, startTime: now - 1_000_000 });
    fake.add(21, { user: 0.5, system: 0.5, startTime: now - 10_000 });
    const tracker = newTracker(fake);
    await tracker.track('api', 20);
    tracker.updateState('api', ProcessState.Failed, 'exit code 1');
    await tracker.track('api', 21);
    const m = tracker.get('api');
    expect(m).toMatchObject({ pid: 21, state: 'running', lastError: '', restartCount: 1 });
    // 1 CPU second over the ~10 s the new process has lived: about 10 %.
    expect(m?.cpu.usagePercent).toBeGreaterThan(8);
    expect(m?.cpu.usagePercent).toBeLessThan(11);
  });

  it('counts a restart even with the same pid', async () => {
    const idle = spawnIdle();
    const tracker = newTracker();
    await tracker.track('api', idle.pid);
    await tracker.track('api', idle.pid);
    expect(tracker.get('api')?.restartCount).toBe(1);
  });
});

describe('snapshots', () => {
  it('are copies: mutating one changes nothing inside', async () => {
    const idle = spawnIdle();
    const tracker = newTracker();
    await tracker.track('api', idle.pid);
    const before = tracker.get('api') as ProcessMetrics;
    const m = tracker.get('api') as ProcessMetrics;
    m.state = ProcessState.Failed;
    m.memory.rss = 1;
    m.cpu.user = 99;
    const all = tracker.getAll();
    (all[0] as ProcessMetrics).pid = 5;
    expect(tracker.get('api')).toEqual(before);
  });

  it('has real numbers right after track()', async () => {
    const fake = new TableCollector();
    fake.add(31, { user: 3, system: 1, rss: 8192, startTime: Date.now() - 8000 });
    const tracker = newTracker(fake);
    await tracker.track('api', 31);
    const m = tracker.get('api');
    expect(m?.memory.rss).toBe(8192);
    expect(m?.cpu.user).toBe(3);
    expect(m?.cpu.usagePercent).toBeGreaterThan(40); // 4 s of CPU in ~8 s
    expect(m?.uptime).toBeGreaterThanOrEqual(8000);
  });
});

describe('subscribers', () => {
  it('see state and health changes at once, without a tick', async () => {
    const tracker = newTracker();
    await tracker.track('api', process.pid);
    const sub = tracker.subscribe();
    tracker.updateHealth('api', false);
    tracker.updateState('api', ProcessState.Stopping);
    tracker.updateState('api', ProcessState.Stopped, 'stopped by operator');
    const seen = await drain(sub, 3);
    expect(seen.map((m) => [m.state, m.healthy, m.pid])).toEqual([
      ['running', false, process.pid],
      ['stopping', false, process.pid],
      ['stopped', false, 0],
    ]);
    expect(seen[2]?.lastError).toBe('stopped by operator');
  });

  it('are not sent a snapshot when an update changes nothing', async () => {
    const tracker = newTracker();
    await tracker.track('api', process.pid);
    const sub = tracker.subscribe({ bufferSize: 2 });
    tracker.updateState('api', ProcessState.Running);
    tracker.updateHealth('api', true);
    tracker.updateState('api', ProcessState.Failed, 'boom');
    tracker.updateState('api', ProcessState.Failed);
    tracker.updateState('api', ProcessState.Failed, 'boom');
    tracker.updateState('api', ProcessState.Failed, 'other');
    expect(sub.dropped).toBe(0);
    const seen = await drain(sub, 2);
    expect(seen.map((m) => [m.state, m.lastError])).toEqual([
      ['failed', 'boom'],
      ['failed', 'other'],
    ]);
  });

  it('drop the oldest snapshot when the buffer is full, and count it', async () => {
    const tracker = newTracker();
    await tracker.track('api', process.pid);
    tracker.updateHealth('api', false);
    const sub = tracker.subscribe({ bufferSize: 3 });
    for (let i = 0; i < 5; i++) tracker.updateHealth('api', i % 2 === 0);
    expect(sub.dropped).toBe(2);
    expect(tracker.stats().droppedSnapshots).toBe(2);
    const kept = await drain(sub, 3);
    // Published healthy = true,false,true,false,true; the first two were dropped.
    expect(kept.map((m) => m.healthy)).toEqual([true, false, true]);
  });

  it('refuse more than maxSubscribers with a clear error', () => {
    const tracker = newTracker(undefined, { maxSubscribers: 2 });
    tracker.subscribe();
    const second = tracker.subscribe();
    expect(() => tracker.subscribe()).toThrow(SubscriberLimitError);
    tracker.unsubscribe(second);
    expect(() => tracker.subscribe()).not.toThrow();
  });

  it('end when the loop breaks, on unsubscribe, on abort and on close', async () => {
    const tracker = newTracker();
    await tracker.track('api', process.pid);

    const broken = tracker.subscribe();
    tracker.updateHealth('api', false);
    for await (const m of broken) {
      expect(m.healthy).toBe(false);
      break;
    }
    expect(broken.closed).toBe(true);

    const unsubscribed = tracker.subscribe();
    tracker.unsubscribe(unsubscribed);
    tracker.unsubscribe(unsubscribed); // again: ignored
    expect(await drain(unsubscribed, 1)).toEqual([]);

    const controller = new AbortController();
    const aborted = tracker.subscribe({ signal: controller.signal });
    const pending = drain(aborted, 1);
    controller.abort();
    expect(await pending).toEqual([]);

    const open = tracker.subscribe();
    const waiting = drain(open, 1);
    expect(tracker.stats().subscribers).toBe(1);
    await tracker.close();
    expect(await waiting).toEqual([]);
    expect(() => tracker.subscribe()).toThrow(TrackerClosedError);
  });
});

describe('ticks', () => {
  it('never overlap: a slow collector delays the next tick', async () => {
    const collector = new GatedCollector();
    const tracker = newTracker(collector, { collectionInterval: 10 });
    await tracker.track('a', spawnIdle().pid);
    await tracker.track('b', spawnIdle().pid);
    const slow = gate();
    collector.gate = slow.promise;
    const before = collector.sweeps.length;
    tracker.start();
    await waitFor(() => collector.inFlight === 1, { what: 'the first tick to block' });
    await new Promise((r) => setTimeout(r, 50)); // five intervals pass while blocked
    expect(collector.sweeps.length - before).toBe(1); // one sweep of both services, one tick only
    collector.gate = undefined;
    slow.open();
    await waitFor(() => tracker.stats().ticks >= 3, { what: 'three ticks' });
    await tracker.stop();
    expect(collector.maxInFlight).toBe(1);
  });

  it('stop() cuts the tick in flight short: nothing it read is recorded, no service is marked failed', async () => {
    const collector = new GatedCollector();
    // A long interval, so the sample's timeout (half of it) cannot end the tick first.
    const tracker = newTracker(collector, { collectionInterval: 5000 });
    await tracker.track('api', spawnIdle().pid);
    const before = tracker.get('api');
    const blocked = gate();
    collector.gate = blocked.promise;
    tracker.start();
    await waitFor(() => collector.inFlight > 0, { what: 'a tick in flight' });
    // The collector is held at its gate: only the abort of the sweep can end the tick.
    await tracker.stop();
    expect(collector.inFlight).toBe(1);
    expect(tracker.get('api')?.state).toBe('running');
    expect(tracker.get('api')?.timestamp).toBe(before?.timestamp);
    expect(tracker.stats().collectionErrors).toBe(0);
    blocked.open();
    await waitFor(() => collector.inFlight === 0, { what: 'the gated sweep to settle' });
    const ticks = tracker.stats().ticks;
    await new Promise((r) => setTimeout(r, 100));
    expect(tracker.stats().ticks).toBe(ticks); // and no more ticks after stop
    expect(tracker.get('api')?.timestamp).toBe(before?.timestamp);
  });

  it('can start again after stop, keeping services and subscriptions', async () => {
    const tracker = newTracker();
    await tracker.track('api', spawnIdle().pid);
    const sub = tracker.subscribe();
    tracker.start();
    await tracker.stop();
    tracker.start();
    const [m] = await drain(sub, 1);
    expect(m?.serviceName).toBe('api');
    await tracker.stop();
    expect(tracker.get('api')).toBeDefined();
  });

  it('stops when the start signal is aborted', async () => {
    const tracker = newTracker();
    const controller = new AbortController();
    tracker.start(controller.signal);
    expect(tracker.running).toBe(true);
    controller.abort();
    await waitFor(() => !tracker.running, { what: 'the loop to stop' });
  });

  it('never publishes a service untracked while the tick ran', async () => {
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    await tracker.track('api', spawnIdle().pid);
    const sub = tracker.subscribe();
    const blocked = gate();
    collector.gate = blocked.promise;
    tracker.start();
    await waitFor(() => collector.inFlight > 0, { what: 'a tick in flight' });
    tracker.untrack('api');
    blocked.open();
    await tracker.stop();
    sub.close();
    expect(await drain(sub, 1)).toEqual([]);
    expect(tracker.get('api')).toBeUndefined();
  });

  it('never marks a re-tracked instance failed because its predecessor exited mid-tick', async () => {
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    const old = spawnIdle();
    await tracker.track('api', old.pid);
    const blocked = gate();
    collector.gate = blocked.promise;
    tracker.start();
    await waitFor(() => collector.inFlight > 0, { what: 'a tick in flight' });
    await killAndWait(old); // the old process dies during the tick...
    collector.gate = undefined;
    const next = spawnIdle();
    await tracker.track('api', next.pid); // ...and the supervisor restarts it
    blocked.open();
    await waitFor(() => tracker.stats().ticks >= 2, { what: 'two ticks' });
    await tracker.stop();
    expect(tracker.get('api')).toMatchObject({ pid: next.pid, state: 'running', restartCount: 1 });
    expect(tracker.stats().processExits).toBe(0);
  });

  it('times out a hanging collector without failing anyone, and does not pile sweeps up', async () => {
    const collector = new GatedCollector();
    const idle = spawnIdle();
    const tracker = newTracker(collector);
    await tracker.track('api', idle.pid);
    collector.hanging.add(idle.pid);
    const before = collector.sweeps.length;
    tracker.start();
    await waitFor(() => tracker.stats().collectionTimeouts >= 3, { what: 'three timed-out ticks' });
    await tracker.stop();
    expect(collector.sweeps.length - before).toBe(1);
    expect(tracker.get('api')?.state).toBe('running');
    expect(tracker.stats().processExits).toBe(0);
  });

  it('counts a throwing collector as errors, never as exits', async () => {
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    await tracker.track('api', spawnIdle().pid);
    collector.throws = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    tracker.start();
    await waitFor(() => tracker.stats().collectionErrors >= 2, { what: 'errors' });
    collector.throws = undefined;
    const ticks = tracker.stats().ticks;
    await waitFor(() => tracker.stats().ticks > ticks + 1, { what: 'recovery' });
    await tracker.stop();
    expect(tracker.get('api')?.state).toBe('running');
    expect(tracker.stats().processExits).toBe(0);
  });

  it('treats a sweep with the wrong number of outcomes as an error, not an exit', async () => {
    const collector = new GatedCollector();
    const tracker = newTracker(collector);
    await tracker.track('api', spawnIdle().pid);
    collector.wrongLength = true;
    tracker.start();
    await waitFor(() => tracker.stats().collectionErrors >= 2, { what: 'errors' });
    await tracker.stop();
    expect(tracker.get('api')?.state).toBe('running');
  });

  it('publishes an exited process once, then stops sampling it until track()', async () => {
    const collector = new GatedCollector();
    const idle = spawnIdle();
    const tracker = newTracker(collector);
    await tracker.track('api', idle.pid);
    const sub = tracker.subscribe();
    await killAndWait(idle);
    tracker.start();
    await waitFor(() => tracker.get('api')?.state === 'failed', { what: 'failure' });
    const sweepsAtFailure = collector.sweepsOf(idle.pid);
    await waitFor(() => tracker.stats().ticks >= 4, { what: 'more ticks' });
    await tracker.stop();
    expect(collector.sweepsOf(idle.pid)).toBe(sweepsAtFailure);
    sub.close();
    const failed = [];
    for await (const m of sub) if (m.state === 'failed') failed.push(m);
    expect(failed.length).toBeLessThanOrEqual(1);
    expect(tracker.stats().processExits).toBe(1);
  });

  it('releases what the collector holds when a service is untracked or exits', async () => {
    const collector = new GatedCollector();
    const [a, b] = [spawnIdle(), spawnIdle()];
    const tracker = newTracker(collector);
    await tracker.track('a', a.pid);
    await tracker.track('b', b.pid);
    collector.released.length = 0;
    tracker.untrack('a');
    await killAndWait(b);
    tracker.start();
    await waitFor(() => tracker.get('b')?.state === 'failed', { what: 'b to fail' });
    expect(collector.released.sort()).toEqual([a.pid, b.pid].sort());
  });

  it('reads a recycled pid (new start time) as the old process having exited', async () => {
    const fake = new TableCollector();
    const p = fake.add(60, { startTime: Date.now() - 60_000 });
    const tracker = newTracker(fake);
    await tracker.track('api', 60);
    p.startTime = Date.now(); // the kernel gave pid 60 to another process
    tracker.start();
    await waitFor(() => tracker.get('api')?.state === 'failed', { what: 'failure' });
    expect(tracker.get('api')).toMatchObject({ pid: 0, lastError: 'process 60 exited' });
  });

  it('reports an exit during stopping as stopped, not failed, and not as an error', async () => {
    const idle = spawnIdle();
    const tracker = newTracker();
    await tracker.track('api', idle.pid);
    tracker.updateState('api', ProcessState.Stopping);
    await killAndWait(idle);
    tracker.start();
    await waitFor(() => tracker.get('api')?.pid === 0, { what: 'the exit' });
    expect(tracker.get('api')).toMatchObject({ state: 'stopped', lastError: '' });
  });

  it("an empty lastError clears the tick's exit message (a clean exit); an omitted one keeps it", async () => {
    const idle = spawnIdle();
    const tracker = newTracker();
    await tracker.track('api', idle.pid);
    await killAndWait(idle);
    tracker.start();
    await waitFor(() => tracker.get('api')?.state === 'failed', { what: 'the tick to see the exit' });
    expect(tracker.get('api')?.lastError).toBe(`process ${idle.pid} exited`);
    tracker.updateState('api', ProcessState.Failed);
    expect(tracker.get('api')?.lastError).toBe(`process ${idle.pid} exited`);
    tracker.updateState('api', ProcessState.Stopped, '');
    expect(tracker.get('api')).toMatchObject({ state: 'stopped', lastError: '' });
    await tracker.stop();
  });
});

describe('identity: pid and start time', () => {
  it('tracks a pid with the start time the caller resolved', async () => {
    const idle = spawnIdle();
    const probe = newTracker();
    await probe.track('probe', idle.pid);
    const startTime = probe.get('probe')?.startTime as number;
    const tracker = newTracker();
    await tracker.track('api', idle.pid, { startTime });
    expect(tracker.get('api')).toMatchObject({ pid: idle.pid, startTime, state: 'running' });
  });

  it('refuses a pid now held by a process that started at another time (a reused pid)', async () => {
    const idle = spawnIdle();
    const tracker = newTracker();
    const startedEarlier = Date.now() - 3_600_000;
    const error = await tracker.track('api', idle.pid, { startTime: startedEarlier }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessNotFoundError);
    expect(tracker.get('api')).toBeUndefined();
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1700000000000', null])('startTime %j', async (startTime) => {
    const tracker = newTracker();
    const attempt = tracker.track('api', process.pid, { startTime: startTime as number });
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(tracker.getAll()).toEqual([]);
  });
});

describe('a supervisor whose process is gone before its first sample', () => {
  it('still counts the start with countStartIfGone, and only then', async () => {
    const tracker = newTracker();
    const sub = tracker.subscribe();
    for (let start = 0; start < 3; start++) {
      const crashed = spawnIdle();
      await killAndWait(crashed); // exits before track() reads it
      await expect(tracker.track('api', crashed.pid, { countStartIfGone: true })).rejects.toBeInstanceOf(ProcessNotFoundError);
      expect(tracker.get('api')).toMatchObject({ state: 'starting', pid: 0, restartCount: start });
      tracker.updateState('api', ProcessState.Failed, 'exited with code 1');
    }
    const seen = await drain(sub, 6);
    expect(seen.map((m) => [m.state, m.restartCount])).toEqual([
      ['starting', 0],
      ['failed', 0],
      ['starting', 1],
      ['failed', 1],
      ['starting', 2],
      ['failed', 2],
    ]);
    const gone = spawnIdle();
    await killAndWait(gone);
    await expect(tracker.track('api', gone.pid)).rejects.toBeInstanceOf(ProcessNotFoundError);
    expect(tracker.get('api')?.restartCount).toBe(2);
  });

  it('refuses a countStartIfGone that is not a boolean', async () => {
    const tracker = newTracker();
    await expect(tracker.track('api', process.pid, { countStartIfGone: 'yes' as unknown as boolean })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });
});

describe('library validation: typed errors with a code, nothing changed', () => {
  it.each([
    ['options null', () => new Tracker(undefined, null as unknown as TrackerOptions)],
    ['options a string', () => new Tracker(undefined, 'fast' as unknown as TrackerOptions)],
    ['a collector that is not one', () => new Tracker({} as unknown as Collector)],
    ['a collector null', () => new Tracker(null as unknown as Collector)],
    ['a meterProvider that is not one', () => new Tracker(undefined, { meterProvider: {} as unknown as MeterProvider })],
    ['a meterProvider string', () => new Tracker(undefined, { meterProvider: 'otel' as unknown as MeterProvider })],
  ])('new Tracker with %s', (_what, make) => {
    expect(make).toThrow(TypeError);
    try {
      make();
    } catch (error) {
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    }
  });

  it('track(name, pid, null) and subscribe(null) are typed errors', async () => {
    const tracker = newTracker();
    await expect(tracker.track('api', process.pid, null as unknown as object)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('options') as unknown,
    });
    expect(() => tracker.subscribe(null as unknown as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(tracker.getAll()).toEqual([]);
    expect(tracker.stats().subscribers).toBe(0);
  });

  it.each([42, undefined, null, {}, Symbol('api')])('a name %s to untrack/get/updateState/updateHealth', async (name) => {
    const tracker = newTracker();
    await tracker.track('api', process.pid);
    const before = tracker.getAll();
    const bad = name as string;
    const calls = [
      () => tracker.untrack(bad),
      () => tracker.get(bad),
      () => tracker.updateState(bad, ProcessState.Failed),
      () => tracker.updateHealth(bad, false),
    ];
    for (const call of calls) expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(tracker.getAll()).toEqual(before);
  });

  it('two names differing only in lone surrogates can never both be tracked', async () => {
    const tracker = newTracker();
    await expect(tracker.track('api\ud800', process.pid)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(() => tracker.register('api\udfff')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(tracker.getAll()).toEqual([]);
  });
});

describe('one exit, one failed event', () => {
  it("a supervisor's failed after the tick's refines lastError without a second event", async () => {
    const idle = spawnIdle();
    const tracker = newTracker();
    await tracker.track('api', idle.pid);
    const sub = tracker.subscribe();
    const seen: ProcessMetrics[] = [];
    const reading = (async () => {
      for await (const m of sub) seen.push(m);
    })();
    await killAndWait(idle);
    tracker.start();
    await waitFor(() => tracker.get('api')?.state === 'failed', { what: 'the tick to see the exit' });
    tracker.updateState('api', ProcessState.Failed, 'exited with code 1');
    tracker.updateState('api', ProcessState.Failed);
    expect(tracker.get('api')).toMatchObject({ state: 'failed', lastError: 'exited with code 1', pid: 0 });
    await waitFor(() => tracker.stats().ticks >= 3, { what: 'more ticks' });
    await tracker.stop();
    await new Promise((r) => setImmediate(r));
    sub.close();
    await reading;
    const failed = seen.filter((m) => m.state === 'failed').map((m) => m.lastError);
    expect(failed).toEqual([`process ${idle.pid} exited`]);
  });

  it('the tick publishes nothing once the supervisor has reported the exit', async () => {
    const idle = spawnIdle();
    const tracker = newTracker();
    await tracker.track('api', idle.pid);
    const seen: ProcessMetrics[] = [];
    const sub = tracker.subscribe();
    await killAndWait(idle);
    tracker.updateState('api', ProcessState.Failed, 'exited with code 1');
    tracker.start();
    await waitFor(() => tracker.stats().ticks >= 3, { what: 'three ticks' });
    await tracker.stop();
    for (const m of await drain(sub, 1)) seen.push(m);
    expect(seen.map((m) => [m.state, m.lastError])).toEqual([['failed', 'exited with code 1']]);
    expect(tracker.stats().processExits).toBe(0);
  });
});

describe('subscribe({ replay: true })', () => {
  it('delivers the current snapshot of every service first, then live changes', async () => {
    const tracker = newTracker();
    await tracker.track('web', spawnIdle().pid);
    tracker.register('api', ProcessState.Stopped, 'not started');
    const live = tracker.subscribe();
    const replayed = tracker.subscribe({ replay: true });
    tracker.updateHealth('web', false);
    const first = await drain(replayed, 3);
    expect(first.map((m) => [m.serviceName, m.state, m.healthy])).toEqual([
      ['api', 'stopped', false],
      ['web', 'running', true],
      ['web', 'running', false],
    ]);
    expect((await drain(live, 1)).map((m) => m.serviceName)).toEqual(['web']);
    expect(() => tracker.subscribe({ replay: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });
});
