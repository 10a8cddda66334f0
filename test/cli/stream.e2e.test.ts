import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessMetrics } from '../../src/core/metrics.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { RawStreamClient, type SseEvent } from '../support/sse.js';
import { fetchMetrics, freePort, killAllCli, startCli } from './cli.js';

/**
 * The snapshot stream of the metrics port (GET /events), read from the built
 * command: the replay comes first, ids count up, a client that does not read
 * loses the oldest events and is told how many, heartbeats come, the number
 * of clients is capped while scrapes still get through, and other paths and
 * methods are refused.
 */
const clients: RawStreamClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await killAllCli();
  await killAll();
});

const open = async (port: number, options: { paused?: boolean; method?: string; path?: string } = {}): Promise<RawStreamClient> => {
  const client = await RawStreamClient.open(port, options.path ?? '/events', options);
  clients.push(client);
  return client;
};

/** An argument of the supervised command, which the stream must not show. */
const SECRET = 'token-5f0c2a9e';

/** A `run` of a long sleep with its endpoint on `port`, once the endpoint answers. */
async function startRun(port: number, ...flags: string[]) {
  const cli = startCli([
    'run',
    '--name',
    'sleeper',
    '-i',
    '200ms',
    '--prometheus',
    `127.0.0.1:${port}`,
    ...flags,
    '--',
    'sh',
    '-c',
    'sleep 1000',
    SECRET,
  ]);
  await waitFor(async () => (await fetchMetrics(port)).includes('service_name="sleeper"'), { what: 'the first scrape', timeoutMs: 15_000 });
  return cli;
}

const snapshotsOf = (events: readonly SseEvent[]): ProcessMetrics[] =>
  events.filter((e) => e.event === 'snapshot').map((e) => JSON.parse(e.data) as ProcessMetrics);

describe('GET /events', () => {
  it('replays every service first, then live snapshots with ids counting up, and stats', async () => {
    const port = await freePort();
    await startRun(port);
    const client = await open(port);
    expect(await client.head()).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*content-type: text\/event-stream/i);
    await client.waitFor((e) => e.event === 'ready', 'the end of the replay');
    const ready = client.events.findIndex((e) => e.event === 'ready');
    const replay = snapshotsOf(client.events.slice(0, ready));
    expect(replay.map((s) => s.serviceName)).toEqual(['sleeper']);
    expect(replay[0]).toMatchObject({ state: 'running' });
    expect(JSON.parse(client.events[ready]!.data)).toEqual({ services: 1 });

    // Live snapshots after the replay, newer than it.
    await client.waitFor((_, all) => snapshotsOf(all).length >= 4, 'live snapshots');
    const snapshots = snapshotsOf(client.events);
    for (let i = 1; i < snapshots.length; i++) expect(snapshots[i]!.timestamp).toBeGreaterThanOrEqual(snapshots[i - 1]!.timestamp);
    // Every event but comments has an id: the replay, ready and the first stats that of the last live
    // event before the client came, then one by one: nothing was dropped for a client that reads.
    const withIds = client.events.filter((e) => e.comment === undefined && e.retry === undefined);
    const joinedAt = withIds[0]!.id!;
    const firstLive = withIds.findIndex((e) => e.event === 'ready') + 2;
    expect(withIds.slice(0, firstLive).map((e) => e.id)).toEqual(withIds.slice(0, firstLive).map(() => joinedAt));
    expect(withIds[firstLive - 1]!.event).toBe('stats');
    const live = withIds.slice(firstLive).map((e) => e.id);
    expect(live.length).toBeGreaterThan(0);
    expect(live).toEqual(live.map((_, i) => joinedAt + i + 1));
    expect(client.events.some((e) => e.event === 'dropped')).toBe(false);

    // The tracker's own figures. (Heartbeats go out only when nothing else does: test/tracker/stream.test.ts.)
    const stats = JSON.parse((await client.waitFor((e) => e.event === 'stats', 'a stats event')).data) as Record<string, unknown>;
    expect(stats).toMatchObject({ intervalMs: 200, services: 1, collectionErrors: 0, stream: { clients: 1, droppedEvents: 0 } });
    // No command line in what is streamed.
    expect(client.events.some((e) => e.data.includes(SECRET))).toBe(false);
  }, 40_000);

  it('drops the oldest events for a client that does not read, and tells it how many', async () => {
    const port = await freePort();
    const children = Array.from({ length: 60 }, () => spawnIdle());
    const services = children.flatMap((child, i) => ['-s', `s${i}=${child.pid}`]);
    startCli(['watch', ...services, '-i', '100ms', '--json', '--prometheus', `127.0.0.1:${port}`]);
    await waitFor(async () => (await fetchMetrics(port)).includes('service_name="s59"'), { what: 'the first scrape', timeoutMs: 20_000 });

    const stalled = await open(port, { paused: true });
    const watcher = await open(port);
    // The server counts what it dropped for the stalled client; the other client sees it in the stats.
    await watcher.waitFor(
      (e) => e.event === 'stats' && (JSON.parse(e.data) as { stream: { droppedEvents: number } }).stream.droppedEvents > 0,
      'events dropped for the client that does not read',
      40_000,
    );
    stalled.socket.resume();
    const dropped = await stalled.waitFor((e) => e.event === 'dropped', 'the dropped event');
    expect((JSON.parse(dropped.data) as { dropped: number }).dropped).toBeGreaterThan(0);
    // The ids say what was lost: a dropped event carries the id of the last one dropped, which is
    // its count past the last one received; the next one received follows it.
    let previous = stalled.events.find((e) => e.event === 'ready')!.id!;
    let droppedInAll = 0;
    for (const event of stalled.events.filter((e) => e.id !== undefined && (e.id > previous || e.event === 'dropped'))) {
      if (event.event === 'dropped') {
        const count = (JSON.parse(event.data) as { dropped: number }).dropped;
        expect(event.id! - previous).toBe(count);
        droppedInAll += count;
      } else {
        expect(event.id).toBe(previous + 1);
      }
      previous = event.id!;
    }
    expect(droppedInAll).toBeGreaterThan(0);
    // The client that reads lost nothing.
    expect(watcher.events.some((e) => e.event === 'dropped')).toBe(false);
  }, 90_000);

  it('turns away clients past the cap with a 503 while scrapes still get through', async () => {
    const port = await freePort();
    await startRun(port);
    const first = await Promise.all(Array.from({ length: 128 }, () => open(port)));
    await Promise.all(first.map((client) => client.waitFor((e) => e.event === 'ready', 'the replay')));
    const refused = await open(port);
    expect(await refused.status()).toBe(503);
    expect(await refused.head()).toMatch(/retry-after: 5/i);
    expect(await fetchMetrics(port)).toContain('service_name="sleeper"');
    // One goes, one more may come.
    first[0]!.close();
    await waitFor(
      async () => {
        const next = await open(port);
        return (await next.status()) === 200;
      },
      { what: 'room for a stream client again' },
    );
  }, 60_000);

  it('answers 404 for other paths and 405 for other methods', async () => {
    const port = await freePort();
    await startRun(port);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/events/x`)).status).toBe(404);
    const post = await fetch(`${base}/events`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect((await fetch(`${base}/metrics`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${base}/metrics?x=1`)).status).toBe(200);
  }, 30_000);
});
