import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OutOfRangeError, snapshotStream, type SnapshotStreamHandler } from '../../src/index.js';
import { killAll, spawnIdle } from '../support/process.js';
import { RawStreamClient } from '../support/sse.js';
import { trackerFactory } from '../support/trackers.js';

/** snapshotStream on a server of the application's own, following a tracker of a real process. */
const makeTracker = trackerFactory({ collectionInterval: 100 });
const servers: Server[] = [];
const clients: RawStreamClient[] = [];
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

    stream.close();
    await client.ended();
    const late = await RawStreamClient.open(port);
    clients.push(late);
    expect(await late.status()).toBe(503);
    expect(stream.stats().clients).toBe(0);
  });
});
