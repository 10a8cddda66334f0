import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { CollectionResult, MetricReader } from '@opentelemetry/sdk-metrics';

type CollectionOptions = Parameters<MetricReader['collect']>[0];
import { dropStaleSeries, type LivenessCheck } from './readers.js';

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

/** The OTel exporter, minus stale series (its collect() is what every scrape calls). */
class LivePrometheusExporter extends PrometheusExporter {
  constructor(private readonly isLive: LivenessCheck) {
    // Our own server listens: the exporter's logs listen errors and resolves anyway.
    super({ preventServerStart: true });
  }

  override async collect(options?: CollectionOptions): Promise<CollectionResult> {
    const result = await super.collect(options);
    return { ...result, resourceMetrics: dropStaleSeries(result.resourceMetrics, this.isLive) };
  }
}

export interface PrometheusEndpoint {
  readonly reader: PrometheusExporter;
  /** http://host:port/metrics with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

const METRICS_PATH = '/metrics';

/**
 * Serves the exposition on host:port/metrics. Resolves once listening; rejects
 * with PrometheusListenError when the port cannot be bound. The server is
 * unref'd, as the OTel exporter's own: telemetry never keeps a process alive.
 */
export async function startPrometheusEndpoint(host: string, port: number, isLive: LivenessCheck): Promise<PrometheusEndpoint> {
  const reader = new LivePrometheusExporter(isLive);
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'GET' && path === METRICS_PATH) {
      reader.getMetricsRequestHandler(request, response);
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new PrometheusListenError(host, port, error));
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => diag.error(`Prometheus endpoint ${formatHostPort(host, port)}: ${error.message}`));
  server.unref();
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    reader,
    url: `http://${formatHostPort(host, bound)}${METRICS_PATH}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
