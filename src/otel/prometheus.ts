import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { createGzip, gzip } from 'node:zlib';
import { diag } from '@opentelemetry/api';
import { ENDPOINT_LIMITS } from '../core/limits.js';
import { DEFAULT_ENDPOINT_TIMEOUTS, type EndpointTimeouts } from './config.js';
import { applyTimeouts } from './deadlines.js';
import { EXPOSITION_CONTENT_TYPE, type BlockSink, type ExpositionWriter } from './exposition.js';
import { acceptsGzip } from '../tracker/gzip-segments.js';
import type { SourceSet } from './source-set.js';

/** The Prometheus endpoint could not listen; `code` is the system error's (EADDRINUSE, EACCES, ...). */
export class PrometheusListenError extends Error {
  override readonly name = 'PrometheusListenError';
  readonly code: string;
  constructor(
    readonly host: string,
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    const code = cause.code ?? 'ERR_LISTEN';
    const reason = code === 'EADDRINUSE' ? 'address already in use' : cause.message;
    super(`Prometheus endpoint cannot listen on ${formatHostPort(host, port)}: ${reason} (${code})`, { cause });
    this.code = code;
  }
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface PrometheusEndpoint {
  /** http://host:port/metrics with the port actually bound. */
  readonly url: string;
  /** Serves `path` with `route` too, on the same connections and limits. */
  mount(path: string, route: Route): void;
  close(): Promise<void>;
}

const METRICS_PATH = '/metrics';

export interface EndpointParts {
  readonly sources: SourceSet;
  readonly writer: ExpositionWriter;
  readonly timeouts: EndpointTimeouts;
  /** Text to serve after ours: an application's own instruments (undefined while there are none). */
  readonly others?: () => Promise<Buffer | undefined>;
}

/**
 * Serves the exposition on host:port/metrics. The text is written in blocks
 * straight into the compressor (zlib's thread pool, the fastest level: text
 * this repetitive shrinks some 20-fold even so), and only the compressed body
 * is kept: it answers every gzip scrape until a tick changes a snapshot.
 * A scrape without gzip gets the text made anew, in blocks, held only while
 * it is sent. Scrapes that arrive while a body is being made share it.
 * Resolves once listening; rejects with PrometheusListenError when the port
 * cannot be bound. The server is unref'd: telemetry never keeps a process alive.
 */
export async function startPrometheusEndpoint(host: string, port: number, parts: EndpointParts): Promise<PrometheusEndpoint> {
  const consumer = parts.sources.consumer();
  /** The last gzip body made from our series alone, and the writer's stamp of what it was made from. */
  let kept: { stamp: number; body: Body } | undefined;

  const collectOnce = async (gzipped: boolean): Promise<Body> => {
    const gathered = parts.sources.gather(consumer);
    const others = await parts.others?.();
    const stamp = parts.writer.stamp(gathered);
    if (gzipped && others === undefined && kept?.stamp === stamp) return kept.body;
    const write = async (sink: BlockSink, reuse: boolean): Promise<void> => {
      await parts.writer.write(gathered, sink, { reuse });
      if (others !== undefined) await sink(others);
    };
    if (!gzipped) return collectBlocks(write);
    const body = await compressBlocks(write);
    kept = others === undefined ? { stamp, body } : undefined;
    return body;
  };
  const inFlight = new Map<boolean, Promise<Body>>();
  const collect = (gzipped: boolean): Promise<Body> => {
    let pending = inFlight.get(gzipped);
    if (pending === undefined) {
      pending = collectOnce(gzipped).finally(() => inFlight.delete(gzipped));
      inFlight.set(gzipped, pending);
    }
    return pending;
  };

  const respond = scrapeResponder(
    async (_request, gzipped) => ({ body: await collect(gzipped), contentType: EXPOSITION_CONTENT_TYPE }),
    () => parts.sources.countExportFailure('prometheus'),
  );
  const routes = new Map<string, Route>([[METRICS_PATH, { methods: READ_METHODS, handle: respond }]]);
  const server = serve(routes, parts.timeouts);
  const bound = await listen(server, host, port);
  let closed: Promise<void> | undefined;
  return {
    url: `http://${formatHostPort(host, bound)}${METRICS_PATH}`,
    mount: (path, route) => {
      if (routes.has(path)) throw new Error(`${path} is already served`);
      routes.set(path, route);
    },
    close: () => (closed ??= closeServer(server)),
  };
}

/**
 * Listens on host:port (host undefined: every interface) and resolves with the
 * port bound; rejects with PrometheusListenError. Later server errors go to
 * the diag logger. The server is unref'd: telemetry never keeps a process alive.
 */
export async function listen(server: Server, host: string | undefined, port: number): Promise<number> {
  const shown = host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new PrometheusListenError(shown, port, error));
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => diag.error(`Prometheus endpoint ${formatHostPort(shown, port)}: ${error.message}`));
  server.unref();
  return (server.address() as AddressInfo).port;
}

/** Stops listening and drops every connection, idle or not. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A body in pieces, never joined into one buffer; `length` is their total, bytes. */
export interface Body {
  readonly pieces: readonly Buffer[];
  readonly length: number;
}

/** What a scrape gets: the body (gzipped when asked) and its content type. */
export interface Exposition {
  readonly body: Body;
  readonly contentType: string;
}

/** One buffer as a body. */
export function bodyOf(buffer: Buffer): Body {
  return { pieces: [buffer], length: buffer.length };
}

/** The blocks `write` makes, as they are. */
async function collectBlocks(write: (sink: BlockSink, reuse: boolean) => Promise<void>): Promise<Body> {
  const pieces: Buffer[] = [];
  let length = 0;
  await write((block) => {
    pieces.push(block);
    length += block.length;
  }, false);
  return { pieces, length };
}

/**
 * The blocks `write` makes, gzipped as they come, in zlib's thread pool. The
 * writer waits until the compressor has taken each block, and then reuses it.
 */
async function compressBlocks(write: (sink: BlockSink, reuse: boolean) => Promise<void>): Promise<Body> {
  const compressor = createGzip({ level: 1 });
  const pieces: Buffer[] = [];
  let length = 0;
  compressor.on('data', (piece: Buffer) => {
    pieces.push(piece);
    length += piece.length;
  });
  const ended = once(compressor, 'end');
  try {
    const taken = (block: Buffer): Promise<void> =>
      new Promise((resolve, reject) => compressor.write(block, (error) => (error ? reject(error) : resolve())));
    await write(taken, true);
  } catch (error) {
    void ended.catch(() => undefined);
    compressor.destroy();
    throw error;
  }
  compressor.end();
  await ended;
  return { pieces, length };
}

const gzipAsync = promisify(gzip);

/**
 * For a source that makes whole buffers: each buffer gzipped once, however
 * many scrapes ask for it at once (off the event loop, the fastest level).
 */
export function gzipOnce(): (plain: Buffer) => Promise<Body> {
  const compressedOf = new WeakMap<Buffer, Promise<Body>>();
  return (plain) => {
    let gzipped = compressedOf.get(plain);
    if (gzipped === undefined) compressedOf.set(plain, (gzipped = gzipAsync(plain, { level: 1 }).then(bodyOf)));
    return gzipped;
  };
}

/** Answers scrape requests; see `scrapeResponder`. */
export type ScrapeResponder = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/**
 * Answers a scrape with what `collect` makes of the request: gzipped when
 * the client takes it (`collect` is told, and compresses). A collection that
 * throws is a 500, counted by `failed`.
 */
export function scrapeResponder(
  collect: (request: IncomingMessage, gzipped: boolean) => Promise<Exposition>,
  failed: () => void,
  { negotiated = false }: { /** The format follows the Accept header. */ negotiated?: boolean } = {},
): ScrapeResponder {
  const vary = negotiated ? 'Accept, Accept-Encoding' : 'Accept-Encoding';
  return async (request, response) => {
    const gzipped = acceptsGzip(request.headers['accept-encoding']);
    let exposition: Exposition;
    try {
      exposition = await collect(request, gzipped);
    } catch (error) {
      failed();
      diag.error(`Prometheus collection failed: ${error instanceof Error ? error.message : String(error)}`);
      response.writeHead(500).end();
      return;
    }
    const { body, contentType } = exposition;
    response.writeHead(200, {
      'content-type': contentType,
      'content-length': body.length,
      vary,
      ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
    });
    if (request.method !== 'HEAD') for (const piece of body.pieces) response.write(piece);
    response.end();
  };
}

/** What one path of the endpoint answers: its handler and the methods it takes. */
export interface Route {
  readonly methods: readonly string[];
  readonly handle: (request: IncomingMessage, response: ServerResponse) => unknown;
}

/** GET and HEAD: what a scrape and a page take. */
export const READ_METHODS: readonly string[] = ['GET', 'HEAD'];

/**
 * An HTTP server answering each path of `routes` with its handler (404 for
 * other paths, 405 for methods a route does not take), holding at most
 * ENDPOINT_LIMITS.maxConnections connections and none idle for long. `routes`
 * is read at each request: a path added later is served from then on.
 */
export function serve(routes: ReadonlyMap<string, Route>, timeouts: EndpointTimeouts = DEFAULT_ENDPOINT_TIMEOUTS): Server {
  const busy = new WeakSet<Socket>();
  const server = createServer({ connectionsCheckingInterval: 1_000 }, (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    busy.add(socket);
    response.once('close', () => busy.delete(socket));
    const url = request.url ?? '';
    const query = url.indexOf('?');
    const route = routes.get(query < 0 ? url : url.slice(0, query));
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    const method = request.method ?? '';
    if (!route.methods.includes(method)) {
      response.writeHead(405, { allow: route.methods.join(', ') }).end();
      return;
    }
    void route.handle(request, response);
  });
  // Node's own timeouts, and a deadline per connection for its next request.
  applyTimeouts(server, timeouts);
  /** Open connections and when each was made, oldest first. */
  const open = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    const now = performance.now();
    open.set(socket, now);
    socket.once('close', () => open.delete(socket));
    if (open.size <= ENDPOINT_LIMITS.maxConnections) return;
    // Over the cap: the oldest connection with no request in flight goes, unless it is too new
    // to have sent its request yet; with none such, the newcomer is turned away.
    let victim: Socket = socket;
    for (const [candidate, since] of open) {
      if (now - since < ENDPOINT_LIMITS.graceMs) break;
      if (!busy.has(candidate)) {
        victim = candidate;
        break;
      }
    }
    victim.destroy();
  });
  return server;
}
