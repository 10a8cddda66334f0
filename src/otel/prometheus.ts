import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { diag } from '@opentelemetry/api';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { ENDPOINT_LIMITS } from '../core/limits.js';
import { DEFAULT_ENDPOINT_TIMEOUTS, type EndpointTimeouts } from './config.js';
import { applyTimeouts } from './deadlines.js';
import { EXPOSITION_CONTENT_TYPE, type ExpositionWriter } from './exposition.js';
import { PrometheusTextSerializer } from './prometheus-serializer.js';
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

/**
 * Collects what applications record on the pipeline's MeterProvider with
 * instruments of their own; the procmetrics series do not go through it.
 */
class PullReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const gzipAsync = promisify(gzip);

export interface PrometheusEndpoint {
  readonly reader: MetricReader;
  /** http://host:port/metrics with the port actually bound. */
  readonly url: string;
  /** The exposition a scrape would get now, UTF-8. */
  collect(): Promise<Buffer>;
  /** Serves `path` with `route` too, on the same connections and limits. */
  mount(path: string, route: Route): void;
  close(): Promise<void>;
}

const METRICS_PATH = '/metrics';

export interface EndpointParts {
  readonly sources: SourceSet;
  readonly writer: ExpositionWriter;
  readonly timeouts: EndpointTimeouts;
}

/**
 * Serves the exposition on host:port/metrics. Scrapes that arrive while one
 * is being written share it: a hundred at once cost one collection. Resolves
 * once listening; rejects with PrometheusListenError when the port cannot be
 * bound. The server is unref'd: telemetry never keeps a process alive.
 */
export async function startPrometheusEndpoint(host: string, port: number, parts: EndpointParts): Promise<PrometheusEndpoint> {
  const reader = new PullReader();
  const consumer = parts.sources.consumer();
  // The application's own instruments on our pipeline, named by the same rules as ours; the writer has target_info.
  const serializer = new PrometheusTextSerializer({ withoutTargetInfo: true });

  const collectOnce = async (): Promise<Buffer> => {
    const ours = await parts.writer.write(parts.sources.gather(consumer));
    const { resourceMetrics } = await reader.collect();
    const hasOthers = resourceMetrics.scopeMetrics.some((scope) => scope.metrics.length > 0);
    return hasOthers ? Buffer.concat([ours, Buffer.from(serializer.serialize(resourceMetrics, 'text'))]) : ours;
  };
  let inFlight: Promise<Buffer> | undefined;
  const collect = (): Promise<Buffer> =>
    (inFlight ??= collectOnce().finally(() => {
      inFlight = undefined;
    }));

  const respond = scrapeResponder(
    async () => ({ body: await collect(), contentType: EXPOSITION_CONTENT_TYPE }),
    () => parts.sources.countExportFailure('prometheus'),
  );
  const routes = new Map<string, Route>([[METRICS_PATH, { methods: READ_METHODS, handle: respond }]]);
  const server = serve(routes, parts.timeouts);
  const bound = await listen(server, host, port);
  let closed: Promise<void> | undefined;
  return {
    reader,
    url: `http://${formatHostPort(host, bound)}${METRICS_PATH}`,
    collect,
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

/** What a scrape gets: the body and its content type. */
export interface Exposition {
  readonly body: Buffer;
  readonly contentType: string;
}

/** Answers scrape requests; see `scrapeResponder`. */
export type ScrapeResponder = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/**
 * Answers a scrape with what `collect` makes of the request, gzipped when the
 * client takes it; a collection that throws is a 500, counted by `failed`.
 * The body is compressed once per collection, off the event loop (zlib's thread
 * pool), at the fastest level: text this repetitive shrinks some 20-fold even so.
 */
export function scrapeResponder(
  collect: (request: IncomingMessage) => Promise<Exposition>,
  failed: () => void,
  { negotiated = false }: { /** The format follows the Accept header. */ negotiated?: boolean } = {},
): ScrapeResponder {
  const vary = negotiated ? 'Accept, Accept-Encoding' : 'Accept-Encoding';
  const compressedOf = new WeakMap<Buffer, Promise<Buffer>>();
  const compressed = (plain: Buffer): Promise<Buffer> => {
    let gzipped = compressedOf.get(plain);
    if (gzipped === undefined) compressedOf.set(plain, (gzipped = gzipAsync(plain, { level: 1 })));
    return gzipped;
  };
  return async (request, response) => {
    const gzipped = acceptsGzip(request.headers['accept-encoding']);
    let body: Buffer;
    let contentType: string;
    try {
      const exposition = await collect(request);
      contentType = exposition.contentType;
      body = gzipped ? await compressed(exposition.body) : exposition.body;
    } catch (error) {
      failed();
      diag.error(`Prometheus collection failed: ${error instanceof Error ? error.message : String(error)}`);
      response.writeHead(500).end();
      return;
    }
    response.writeHead(200, {
      'content-type': contentType,
      'content-length': body.length,
      vary,
      ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
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
