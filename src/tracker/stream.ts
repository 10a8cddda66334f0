import { ServerResponse, type IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { SubscriberLimitError } from '../core/errors.js';
import { STREAM_LIMITS } from '../core/limits.js';
import type { ProcessMetrics } from '../core/metrics.js';
import type { TrackerStats } from '../core/stats.js';
import { delayOption, intervalOption, positiveIntegerOption, validateOptions } from '../core/validate.js';
import { acceptsGzip, GZIP_HEADER, GZIP_PIECES_AVAILABLE, GzipTally, gzipPiece, gzipPieceSync, type GzipPiece } from './gzip-segments.js';
import type { Subscription, SubscribeOptions } from './types.js';

/** What the stream needs of a tracker; `Tracker` has it. */
export interface StreamSource {
  subscribe(options?: SubscribeOptions): Subscription;
  getAll(): ProcessMetrics[];
  stats(): TrackerStats;
  readonly collectionInterval: number;
}

export interface SnapshotStreamOptions {
  /** Clients at once; the next one gets a 503 (default 128). */
  maxClients?: number;
  /** Events held for a client that reads slower than they come; past it the oldest go, and the client is told how many (default 1024). */
  bufferSize?: number;
  /** A comment line is sent after this long with nothing else sent, ms, so that proxies and idle timeouts keep the connection (default 5000). */
  heartbeatMs?: number;
  /**
   * A `stats` event (the tracker's own figures) about this often, ms (default
   * the tracker's interval), and no oftener than events are handed out
   * (`flushIntervalMs`). It goes out with a tick's snapshots when they come,
   * and alone when none come for one and a half times this long.
   */
  statsIntervalMs?: number;
  /** A client whose connection has taken nothing for this long is closed, ms (default 30000). */
  stallTimeoutMs?: number;
  /**
   * The least time between two hand-outs of events to the clients, ms (default
   * 2000; 0 hands each tick out as it comes). Events that come sooner wait and
   * go together, in one write per client: with ticks of a second, every other
   * tick goes out at once and the next one with it. A snapshot whose state or
   * health changed does not wait (a crash shows at once). A client's cost is
   * mostly per write, not per byte; this is what keeps a hundred clients cheap.
   */
  flushIntervalMs?: number;
}

/** The stream's own figures, also sent in every `stats` event. */
export interface StreamStats {
  /** Clients connected now. */
  clients: number;
  /** Clients turned away with a 503 since the start. */
  refused: number;
  /** Events dropped, all clients together, because a client read too slowly. */
  droppedEvents: number;
}

/** A Node `(request, response)` handler for any HTTP server, and its controls. */
export interface SnapshotStreamHandler {
  (request: IncomingMessage, response: ServerResponse): void;
  stats(): StreamStats;
  /** Ends every stream, once each client was handed what was published before, and refuses new ones. Idempotent. */
  close(): Promise<void>;
}

/** What a `stats` event carries: the cheap half of TrackerStats, and the stream's own figures. */
export interface StreamStatsEvent {
  ticks: number;
  intervalMs: number;
  lastTickDurationMs: number;
  lastSweepDurationMs: number;
  collectionErrors: number;
  collectionTimeouts: number;
  droppedSnapshots: number;
  services: number;
  stream: StreamStats;
}

const HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  // The body ends when the connection does: no chunk framing around every write.
  connection: 'close',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  // Reverse proxies (nginx) would otherwise hold the events back.
  'x-accel-buffering': 'no',
} as const;

/** Snapshots the stream's one subscription holds while it hands out the previous ones. */
const SUBSCRIPTION_BUFFER = 8192;
/** Longest stretch of encoding before the event loop gets a turn, ms. */
const ENCODE_SLICE_MS = 5;
/** How soon a client that went away is reconnected by a browser, ms (the `retry:` field). */
const RETRY_MS = 2000;

/** Events of one hand-out, as every client gets them: encoded (and compressed) once, shared by all. */
interface Batch {
  readonly bytes: Buffer;
  /** The same bytes as a piece of a gzip stream, when a client takes gzip. */
  readonly gzip: GzipPiece | undefined;
  readonly count: number;
  /** The id of its last event. */
  readonly lastId: number;
}

const snapshotEvent = (snapshot: ProcessMetrics): string => `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
const HEARTBEAT = ': keep-alive\n\n';
/** The heartbeat as a gzip piece, made once. */
let heartbeatPiece: GzipPiece | undefined;

/**
 * Where a client's body is written. The head is sent at once; then, when the
 * response has no chunk framing (its body ends with the connection) and its
 * `write()` is Node's own, not a framework's wrapper, the body goes straight
 * to the connection: a write is one `write(2)` and little else, where the
 * response's `write()` adds its checks, a cork and a turn of the event loop.
 * Otherwise the response's own `write()` is used.
 */
function bodyOut(response: ServerResponse): Writable {
  response.flushHeaders();
  const socket = response.socket;
  const ownWrite = response.write === ServerResponse.prototype.write;
  return socket instanceof Socket && !response.chunkedEncoding && ownWrite ? socket : response;
}

/** One connected client: the batches it has yet to take, and when it stopped taking them. */
class StreamClient {
  readonly #queue: Batch[] = [];
  /** Events in the queue. */
  #queued = 0;
  #dropped = 0;
  #lastDroppedId = 0;
  /** What the client was sent, when it takes gzip. */
  readonly #gzip: GzipTally | undefined;
  /** While the replay is being compressed: nothing else may go before it. */
  #starting = false;
  /** When something was last written to the connection (performance.now()). */
  #lastWriteAt = performance.now();
  /** When the connection stopped taking what is written (performance.now()), or undefined while it takes it. */
  stalledSince: number | undefined;
  /** Where the body goes: the connection itself once the head is sent, else the response. */
  readonly #out: Writable;

  constructor(
    readonly response: ServerResponse,
    /** The id of the last live event its replay covers: batches up to it are not its own. */
    private readonly joinedAfterId: number,
    gzip: boolean,
    private readonly capacity: number,
    private readonly onDrop: (count: number) => void,
  ) {
    this.#gzip = gzip ? new GzipTally() : undefined;
    this.#out = bodyOut(response);
    this.#out.on('drain', () => {
      this.stalledSince = undefined;
      this.flush();
    });
  }

  /** Whether the connection is closed, or closing. */
  get #gone(): boolean {
    return this.response.destroyed || this.#out.destroyed;
  }

  get gzip(): boolean {
    return this.#gzip !== undefined;
  }

  /**
   * Starts the body with `bytes` (the replay). For gzip they are compressed
   * in the thread pool, as the replay of thousands of services is megabytes;
   * live batches wait in the queue meanwhile.
   */
  begin(bytes: Buffer): void {
    if (this.#gzip === undefined) {
      this.#write(bytes);
      return;
    }
    this.#write(GZIP_HEADER);
    this.#starting = true;
    void gzipPiece(bytes).then(
      (piece) => {
        this.#starting = false;
        if (this.#gone || this.response.writableEnded) return;
        this.#writePiece(piece);
        this.flush();
      },
      () => this.response.destroy(),
    );
  }

  /** Queues a batch; past the capacity the oldest batches go (the newest always stays). Sends what the connection takes. */
  add(batch: Batch): void {
    if (batch.lastId <= this.joinedAfterId) return;
    this.#queue.push(batch);
    this.#queued += batch.count;
    while (this.#queued > this.capacity && this.#queue.length > 1) {
      const oldest = this.#queue.shift() as Batch;
      this.#queued -= oldest.count;
      this.#dropped += oldest.count;
      this.#lastDroppedId = oldest.lastId;
      this.onDrop(oldest.count);
    }
    this.flush();
  }

  /** Writes queued batches while the connection takes them. */
  flush(): void {
    if (this.#starting) return;
    const out = this.#out;
    if (this.#dropped > 0 && !out.writableNeedDrain && !this.#gone) {
      // The id of the last event dropped: the next one follows it.
      this.#writeOwn(Buffer.from(`id: ${this.#lastDroppedId}\nevent: dropped\ndata: ${JSON.stringify({ dropped: this.#dropped })}\n\n`));
      this.#dropped = 0;
    }
    while (this.#queue.length > 0 && !out.writableNeedDrain && !this.#gone) {
      const batch = this.#queue.shift() as Batch;
      this.#queued -= batch.count;
      if (this.#gzip === undefined) this.#write(batch.bytes);
      else if (batch.gzip !== undefined) this.#writePiece(batch.gzip);
      // Never expected: compressing failed. Plain bytes would corrupt the stream; the client reconnects.
      else this.response.destroy();
    }
    if (out.writableNeedDrain) this.stalledSince ??= performance.now();
  }

  /** A comment line, when nothing went out for about `quietMs` and nothing is waiting to go. */
  heartbeat(quietMs: number): void {
    if (this.#starting || this.#out.writableNeedDrain || this.#gone || this.#queue.length > 0) return;
    // A tenth of slack: the timer that calls this runs every quietMs, a little late or early.
    if (performance.now() - this.#lastWriteAt < quietMs * 0.9) return;
    if (this.#gzip !== undefined) this.#writePiece((heartbeatPiece ??= gzipPieceSync(Buffer.from(HEARTBEAT))));
    else this.#write(HEARTBEAT);
  }

  /** Ends the response, closing the gzip stream first. */
  end(): void {
    if (this.#gzip !== undefined && !this.#gone) this.response.end(this.#gzip.trailer());
    else this.response.end();
  }

  /** Bytes of this client alone (a drop notice), compressed here when it takes gzip. */
  #writeOwn(bytes: Buffer): void {
    if (this.#gzip !== undefined) this.#writePiece(gzipPieceSync(bytes));
    else this.#write(bytes);
  }

  #writePiece(piece: GzipPiece): void {
    (this.#gzip as GzipTally).add(piece);
    this.#write(piece.deflated);
  }

  #write(bytes: Buffer | string): void {
    this.#out.write(bytes);
    this.#lastWriteAt = performance.now();
  }
}

/**
 * The tracker's snapshots as Server-Sent Events, for an HTTP server of your
 * own: `server.on('request', (req, res) => req.url === '/events' && stream(req, res))`.
 *
 * Each client first gets the current snapshot of every service (`snapshot`
 * events, as `subscribe({ replay: true })` gives them), then a `ready` event,
 * then every snapshot as the tracker publishes it, in order. A `stats` event
 * carries the tracker's own figures about every interval, with a tick's
 * snapshots, and a comment line when nothing else went out for `heartbeatMs`.
 * Events go out at most once per `flushIntervalMs` (2 s): the first after a
 * quiet spell at once, the ones that follow it sooner together, when it is
 * over; but a snapshot with another state or health than its service's last
 * one goes out at once, and what waits with it.
 * Live events are numbered once for all clients (`id:` 1, 2, 3, ...); the
 * replay, `ready` and the first `stats` carry the id of the last live event
 * before the client came, so ids never go down and, from the first live event
 * on, go up one by one. A client that reads slower than the events come has up
 * to `bufferSize` of them held; past it the oldest are dropped, and the next
 * thing it gets is a `dropped` event with their count and the id of the last
 * one dropped. Past `maxClients` a client gets a 503. A snapshot has no
 * command line and no environment.
 *
 * One subscription to the tracker serves every client, and each hand-out of
 * events is serialized, encoded and, for clients that accept gzip (browsers,
 * `fetch`), compressed once (in the thread pool when over 1 MiB), whatever the number of
 * clients: a client costs one write per hand-out, of about a sixteenth of the
 * bytes when it takes gzip. With no client the stream costs nothing. Only GET
 * is answered (405 otherwise); the handler does not look at the path.
 */
export function snapshotStream(source: StreamSource, options: SnapshotStreamOptions = {}): SnapshotStreamHandler {
  validateOptions(options, 'options');
  const maxClients = positiveIntegerOption(options.maxClients, 'options.maxClients', STREAM_LIMITS.maxClients);
  const bufferSize = positiveIntegerOption(options.bufferSize, 'options.bufferSize', STREAM_LIMITS.bufferSize);
  const heartbeatMs = intervalOption(options.heartbeatMs, 'options.heartbeatMs', STREAM_LIMITS.heartbeatMs);
  const statsIntervalMs = intervalOption(options.statsIntervalMs, 'options.statsIntervalMs', source.collectionInterval);
  const stallTimeoutMs = intervalOption(options.stallTimeoutMs, 'options.stallTimeoutMs', STREAM_LIMITS.stallTimeoutMs);
  const flushIntervalMs = delayOption(options.flushIntervalMs, 'options.flushIntervalMs', STREAM_LIMITS.flushIntervalMs);

  const clients = new Set<StreamClient>();
  const figures: StreamStats = { clients: 0, refused: 0, droppedEvents: 0 };
  let closed = false;
  let subscription: Subscription | undefined;
  let timers: NodeJS.Timeout[] = [];
  /** Events taken since the last hand-out, numbered and encoded one by one (cheaper than one long string). */
  let pending: Buffer[] = [];
  /** The next hand-out, when one is due: at the next turn of the event loop, or after flushIntervalMs. */
  let handOut: { cancel(): void; readonly soon: boolean } | undefined;
  /** The last snapshot of each service that went by, to tell a change of state or health from a tick's sample. */
  let lastSeen = new Map<string, ProcessMetrics>();
  /** When events were last handed out (performance.now()). */
  let lastHandOutAt = -Infinity;
  /** The id of the last live event. */
  let lastId = 0;
  /** When the last `stats` event was numbered (performance.now()). */
  let lastStatsAt = 0;
  /** Hand-outs being compressed: each waits for the one before, so that clients get them in order. */
  let delivered: Promise<void> = Promise.resolve();

  const stats = (): StreamStats => ({ ...figures, clients: clients.size });
  const statsEvent = (): string => {
    const t = source.stats();
    const data: StreamStatsEvent = {
      ticks: t.ticks,
      intervalMs: t.intervalMs,
      lastTickDurationMs: t.lastTickDurationMs,
      lastSweepDurationMs: t.lastSweepDurationMs,
      collectionErrors: t.collectionErrors,
      collectionTimeouts: t.collectionTimeouts,
      droppedSnapshots: t.droppedSnapshots,
      services: t.services,
      stream: stats(),
    };
    return `event: stats\ndata: ${JSON.stringify(data)}\n\n`;
  };
  /**
   * Hands the pending events, and a `stats` event with them when one is due,
   * to every client, as one piece encoded (and compressed) once.
   */
  const broadcast = (): void => {
    handOut?.cancel();
    handOut = undefined;
    if (pending.length === 0) return;
    const now = performance.now();
    lastHandOutAt = now;
    // Three quarters: a tick a little early still takes the stats along, rather than leaving them to the next.
    if (now - lastStatsAt >= statsIntervalMs * 0.75) {
      number(statsEvent());
      lastStatsAt = now;
    }
    const bytes = Buffer.concat(pending);
    const count = pending.length;
    const batchLastId = lastId;
    pending = [];
    const handTo = (batch: Batch): void => {
      for (const client of clients) client.add(batch);
    };
    if (![...clients].some((client) => client.gzip)) {
      delivered = delivered.then(() => handTo({ bytes, gzip: undefined, count, lastId: batchLastId }));
      return;
    }
    const compressed = gzipPiece(bytes);
    delivered = delivered.then(async () => {
      const gzip = await compressed.catch(() => undefined);
      handTo({ bytes, gzip, count, lastId: batchLastId });
    });
  };
  const number = (event: string): void => {
    pending.push(Buffer.from(`id: ${++lastId}\n${event}`));
  };
  /**
   * A tick's events are handed out at the next turn of the event loop (they
   * come in slices), and never sooner than flushIntervalMs after the last ones,
   * unless `now`: a change of state or health goes out at once, with what waits.
   */
  const enqueue = (event: string, now = false): void => {
    number(event);
    const waitMs = now ? 0 : lastHandOutAt + flushIntervalMs - performance.now();
    if (handOut !== undefined && (handOut.soon || waitMs > 0)) return;
    handOut?.cancel();
    if (waitMs > 0) {
      const timer = setTimeout(broadcast, waitMs);
      handOut = { cancel: () => clearTimeout(timer), soon: false };
    } else {
      const immediate = setImmediate(broadcast);
      handOut = { cancel: () => clearImmediate(immediate), soon: true };
    }
  };
  /** Whether `snapshot` is the first of its service here, or has another state or health than the last one. */
  const changed = (snapshot: ProcessMetrics): boolean => {
    const last = lastSeen.get(snapshot.serviceName);
    lastSeen.set(snapshot.serviceName, snapshot);
    return last === undefined || last.state !== snapshot.state || last.healthy !== snapshot.healthy;
  };

  const stop = (): void => {
    subscription?.close();
    subscription = undefined;
    for (const timer of timers) clearInterval(timer);
    timers = [];
    handOut?.cancel();
    handOut = undefined;
    pending = [];
    lastSeen = new Map();
  };

  /** The one subscription, opened with the first client. Snapshots of one tick go out together. */
  const begin = (): void => {
    // The snapshots are only serialized here: no copy of each is needed.
    const opened = source.subscribe({ bufferSize: SUBSCRIPTION_BUFFER, shared: true });
    subscription = opened;
    void (async () => {
      // A tick of thousands of services is encoded in slices, the event loop served between them.
      let sliceStart = performance.now();
      for await (const snapshot of opened) {
        enqueue(snapshotEvent(snapshot), changed(snapshot));
        if (performance.now() - sliceStart > ENCODE_SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
      // The tracker closed: so does every stream, after what was handed out.
      if (subscription === opened) await endAll();
    })();
    const heartbeat = setInterval(() => {
      const now = performance.now();
      for (const client of clients) {
        if (client.stalledSince !== undefined && now - client.stalledSince > stallTimeoutMs) client.response.destroy();
        else client.heartbeat(heartbeatMs);
      }
    }, heartbeatMs);
    // Stats alone only while no tick brings snapshots to carry them, nor a hand-out is waiting that will take them along.
    const statsTimer = setInterval(
      () => {
        if (handOut === undefined && performance.now() - lastStatsAt >= statsIntervalMs * 1.5) enqueue(statsEvent());
      },
      Math.max(1, Math.round(statsIntervalMs / 2)),
    );
    heartbeat.unref();
    statsTimer.unref();
    timers = [heartbeat, statsTimer];
  };

  /** Hands out what is pending, waits until every client has it, then ends every stream. */
  const endAll = async (): Promise<void> => {
    broadcast();
    stop();
    await delivered;
    for (const client of [...clients]) client.end();
    clients.clear();
  };

  const refuse = (response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${message}\n`);
  };

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    if (request.method !== 'GET') {
      refuse(response, 405, 'the snapshot stream answers GET only', { allow: 'GET' });
      return;
    }
    if (closed) {
      refuse(response, 503, 'the snapshot stream is closed');
      return;
    }
    if (clients.size >= maxClients) {
      figures.refused += 1;
      refuse(response, 503, `too many stream clients (at most ${maxClients}); try again later`, { 'retry-after': '5' });
      return;
    }
    if (subscription === undefined) {
      try {
        begin();
      } catch (error) {
        // A tracker with no room for another subscriber, or one that is closed.
        figures.refused += 1;
        const why = error instanceof SubscriberLimitError ? 'the tracker has no room for another subscriber' : 'the tracker is closed';
        refuse(response, 503, `cannot follow the tracker: ${why}`, { 'retry-after': '5' });
        return;
      }
    }
    // What the others have yet to get is numbered first: the newcomer's replay already has it.
    broadcast();
    const gzip = GZIP_PIECES_AVAILABLE && acceptsGzip(request.headers['accept-encoding']);
    // With no Transfer-Encoding (and no length), the body is whatever comes until the connection closes.
    response.removeHeader('transfer-encoding');
    response.writeHead(
      200,
      gzip ? { ...HEADERS, 'content-encoding': 'gzip', vary: 'accept-encoding' } : { ...HEADERS, vary: 'accept-encoding' },
    );
    const client = new StreamClient(response, lastId, gzip, bufferSize, (count) => (figures.droppedEvents += count));
    clients.add(client);
    response.once('close', () => {
      clients.delete(client);
      if (clients.size === 0) stop();
    });
    const snapshots = source.getAll();
    const replay = [Buffer.from(`retry: ${RETRY_MS}\n\n`)];
    for (const snapshot of snapshots) replay.push(Buffer.from(`id: ${lastId}\n${snapshotEvent(snapshot)}`));
    replay.push(Buffer.from(`id: ${lastId}\nevent: ready\ndata: ${JSON.stringify({ services: snapshots.length })}\n\n`));
    replay.push(Buffer.from(`id: ${lastId}\n${statsEvent()}`));
    client.begin(Buffer.concat(replay));
    client.flush();
  };
  return Object.assign(handler, {
    stats,
    close: (): Promise<void> => {
      closed = true;
      return endAll();
    },
  });
}
