import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OutOfRangeError, ProcessState, snapshotStream, type SnapshotStreamHandler } from '../../src/index.js';
import { killAll, spawnIdle } from '../support/process.js';
import { GzipStreamClient, RawStreamClient, type SseEvent } from '../support/sse.js';
import { trackerFactory } from '../support/trackers.js';

/** snapshotStream on a server of the application's own, following a tracker of a real process. */
const makeTracker = trackerFactory({ collectionInterval: 100 });
const servers: Server[] = [];
const clients: (RawStreamClient | GzipStreamClient)[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
  await killAll();
});

async function mount(stream: SnapshotStreamHandler): Promise<number> {
  const server = createServer((request, response) => stream(request, response));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('snapshotStream', () => {
  it('refuses bad options with a typed error naming the option and the value', () => {
    const tracker = makeTracker();
    expect(() => snapshotStream(tracker, { maxClients: 0 })).toThrow(OutOfRangeError);
    expect(() => snapshotStream(tracker, { maxClients: 0 })).toThrow(/options\.maxClients must be a positive integer; got 0/);
    expect(() => snapshotStream(tracker, { bufferSize: 1.5 })).toThrow(/options\.bufferSize .* got 1\.5/);
    expect(() => snapshotStream(tracker, { heartbeatMs: -1 })).toThrow(/options\.heartbeatMs .* got -1/);
    expect(() => snapshotStream(tracker, { statsIntervalMs: Number.NaN })).toThrow(/options\.statsIntervalMs .* got NaN/);
    expect(() => snapshotStream(tracker, { flushIntervalMs: -1 })).toThrow(
      /options\.flushIntervalMs must be a finite number of ms, 0 or more.* got -1/,
    );
    expect(() => snapshotStream(tracker, { flushIntervalMs: 0 })).not.toThrow();
    expect(() => snapshotStream(tracker, null as never)).toThrow(/options/);
  });

  it('streams a real process to a client of its own cap, and ends every stream on close()', async () => {
    const tracker = makeTracker();
    const idle = spawnIdle();
    await tracker.track('idle', idle.pid);
    tracker.start();
    const stream = snapshotStream(tracker, { maxClients: 1 });
    const port = await mount(stream);

    const client = await RawStreamClient.open(port);
    clients.push(client);
    await client.waitFor((e) => e.event === 'ready', 'the replay');
    // No chunk framing: the body is what comes until the connection closes.
    expect(await client.header('transfer-encoding')).toBeUndefined();
    expect(await client.header('connection')).toBe('close');
    await client.waitFor(
      (e, all) => all.filter((x) => x.event === 'snapshot' && (JSON.parse(x.data) as { pid: number }).pid === idle.pid).length >= 3,
      'snapshots',
    );
    expect(stream.stats()).toEqual({ clients: 1, refused: 0, droppedEvents: 0 });

    const second = await RawStreamClient.open(port);
    clients.push(second);
    expect(await second.status()).toBe(503);
    const post = await RawStreamClient.open(port, '/', { method: 'POST' });
    clients.push(post);
    expect(await post.status()).toBe(405);
    expect(stream.stats().refused).toBe(1);

    await stream.close();
    await client.ended();
    const late = await RawStreamClient.open(port);
    clients.push(late);
    expect(await late.status()).toBe(503);
    expect(stream.stats().clients).toBe(0);
  });

  it('sends gzip to a client that asks for it: the same events as the plain stream, fewer bytes, and a valid end', async () => {
    const tracker = makeTracker();
    const idle = Array.from({ length: 20 }, () => spawnIdle());
    for (const [i, child] of idle.entries()) await tracker.track(`idle-${i}`, child.pid);
    tracker.start();
    const stream = snapshotStream(tracker);
    const port = await mount(stream);
    const plain = await RawStreamClient.open(port);
    const gzip = new GzipStreamClient(port);
    clients.push(plain, gzip);

    const snapshotsAfter = (all: readonly SseEvent[], id: number): number =>
      all.filter((e) => e.event === 'snapshot' && (e.id ?? 0) > id).length;
    await gzip.waitFor((e) => e.event === 'ready', 'the replay over gzip');
    const joined = gzip.events.find((e) => e.event === 'ready')?.id ?? 0;
    await gzip.waitFor((_, all) => snapshotsAfter(all, joined) >= 60, 'three ticks over gzip');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gzip.headers.vary).toBe('accept-encoding');
    expect(gzip.wireBytes).toBeLessThan(gzip.plainBytes / 2);

    // From the gzip client's first live event on, both clients got the same events, in the same order.
    const live = (events: readonly SseEvent[]): SseEvent[] => events.filter((e) => e.comment === undefined && (e.id ?? 0) > joined);
    await plain.waitFor((_, all) => live(all).length >= live(gzip.events).length, 'the same events in plain text');
    const compared = live(gzip.events).length;
    expect(live(gzip.events)).toEqual(live(plain.events).slice(0, compared));
    expect(live(gzip.events).map((e) => e.id)).toEqual(live(gzip.events).map((_, i) => joined + i + 1));

    // The end is a whole gzip member: Node's gunzip checks the CRC-32 and the length.
    await stream.close();
    await gzip.ended();
    expect(gzip.events.length).toBeGreaterThan(compared);
  });

  it('holds events that come within flushIntervalMs of the last hand-out, but not a change of state', async () => {
    // No ticks: every event is a change made here, so what is held is known.
    const tracker = makeTracker();
    tracker.register('web');
    const stream = snapshotStream(tracker, { flushIntervalMs: 60_000, heartbeatMs: 50 });
    const port = await mount(stream);
    const client = await RawStreamClient.open(port);
    clients.push(client);
    await client.waitFor((e) => e.event === 'ready', 'the replay');
    const live = (): { state: string; restartCount: number }[] =>
      client.events
        .filter((e) => e.event === 'snapshot' && (e.id ?? 0) > 0)
        .map((e) => JSON.parse(e.data) as { state: string; restartCount: number })
        .map(({ state, restartCount }) => ({ state, restartCount }));
    const heartbeats = async (): Promise<void> => {
      const before = client.events.filter((e) => e.comment !== undefined).length;
      await client.waitFor((_, all) => all.filter((e) => e.comment !== undefined).length >= before + 3, 'three heartbeats');
    };

    // The first event after a quiet spell goes out at once.
    tracker.updateRestartCount('web', 1);
    await client.waitFor((_, all) => all.some((e) => e.event === 'snapshot' && (e.id ?? 0) > 0), 'the first change');
    // The next ones wait for the interval: meanwhile the client hears only heartbeats.
    tracker.updateRestartCount('web', 2);
    tracker.updateRestartCount('web', 3);
    await heartbeats();
    expect(live()).toEqual([{ state: 'stopped', restartCount: 1 }]);

    // A change of state does not wait, and takes what waited along, in order.
    tracker.updateState('web', ProcessState.Running);
    await client.waitFor((e) => e.event === 'snapshot' && e.data.includes('"running"'), 'the change of state');
    expect(live().map((x) => x.restartCount)).toEqual([1, 2, 3, 3]);
    tracker.updateRestartCount('web', 4);
    await heartbeats();
    expect(live()).toHaveLength(4);

    // close() hands out what was held before the end.
    await stream.close();
    await client.ended();
    expect(live().at(-1)).toEqual({ state: 'running', restartCount: 4 });
  });

  it('sends a heartbeat when nothing else went out for heartbeatMs, plain and gzip alike', async () => {
    // A tracker that samples once a minute: after the replay, only heartbeats keep the connection.
    const tracker = makeTracker(undefined, { collectionInterval: 60_000 });
    const idle = spawnIdle();
    await tracker.track('idle', idle.pid);
    tracker.start();
    const stream = snapshotStream(tracker, { heartbeatMs: 100 });
    const port = await mount(stream);
    const plain = await RawStreamClient.open(port);
    const gzip = new GzipStreamClient(port);
    clients.push(plain, gzip);
    for (const client of [plain, gzip]) {
      await client.waitFor((e) => e.event === 'ready', 'the replay');
      const heartbeat = await client.waitFor(
        (event, all) => event.comment !== undefined && all.filter((e) => e.comment !== undefined).length >= 3,
        'three heartbeats',
      );
      expect(heartbeat.comment).toBe('keep-alive');
    }
  });
});
