import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import { AggregationTemporality, MetricReader, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { InvalidArgumentTypeError, asError, describeValue } from '../core/errors.js';
import { checkBoolean, checkInteger, checkString } from '../core/validate.js';
import { envValue, parseEnvInteger } from './parse.js';
import {
  READ_METHODS,
  bodyOf,
  closeServer,
  formatHostPort,
  gzipOnce,
  listen,
  scrapeResponder,
  serve,
  type ScrapeResponder,
} from './prometheus.js';
import { PrometheusTextSerializer, type SerializerOptions } from './prometheus-serializer.js';
import { CONTENT_TYPES, negotiateFormat, type ExpositionFormat } from './prometheus-text.js';
import { SnapshotMetricProducer } from './producer.js';
import type { SourceSet } from './source-set.js';

/**
 * The options of `@opentelemetry/exporter-prometheus`'s PrometheusExporter,
 * with the same names, meanings and defaults.
 */
export interface PrometheusReaderOptions extends SerializerOptions {
  /** Interface to listen on (default OTEL_EXPORTER_PROMETHEUS_HOST, else every interface). */
  host?: string;
  /** TCP port; 0 picks a free one (default OTEL_EXPORTER_PROMETHEUS_PORT, else 9464). */
  port?: number;
  /** Path of the metrics (default `/metrics`). */
  endpoint?: string;
  /** Serve no HTTP of its own: answer scrapes through `getMetricsRequestHandler` in a server of yours. */
  preventServerStart?: boolean;
  /** More sources beside the SDK's instruments, e.g. `createMetricProducer(tracker)`. */
  metricProducers?: MetricProducer[];
}

function checkOptions(options: unknown): PrometheusReaderOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentTypeError(`options must be an object, got ${describeValue(options)}`);
  }
  const o = options as Readonly<Record<string, unknown>>;
  const prefix = o['prefix'];
  if (prefix !== undefined && typeof prefix !== 'string') {
    throw new InvalidArgumentTypeError(`options.prefix must be a string, got ${describeValue(prefix)}`);
  }
  const pattern = o['withResourceConstantLabels'];
  if (pattern !== undefined && !(pattern instanceof RegExp)) {
    throw new InvalidArgumentTypeError(`options.withResourceConstantLabels must be a RegExp, got ${describeValue(pattern)}`);
  }
  const producers = o['metricProducers'];
  if (
    producers !== undefined &&
    (!Array.isArray(producers) || !producers.every((p) => typeof (p as Partial<MetricProducer> | null)?.collect === 'function'))
  ) {
    throw new InvalidArgumentTypeError(`options.metricProducers must be an array of MetricProducers, got ${describeValue(producers)}`);
  }
  const booleans = ['preventServerStart', 'appendTimestamp', 'withoutScopeInfo', 'withoutTargetInfo'] as const;
  for (const name of booleans) checkBoolean(`options.${name}`, o[name]);
  return {
    ...(options as PrometheusReaderOptions),
    host: checkString('options.host', o['host']),
    port: checkInteger('options.port', o['port'], 0, 65535),
    endpoint: checkString('options.endpoint', o['endpoint']),
  };
}

/**
 * A Prometheus pull exporter for an application's own MeterProvider or
 * NodeSDK (`metricReader`), in place of `PrometheusExporter`, with the same
 * options. What differs is the text: every metric, the application's and
 * procmetrics', gets the names the OpenTelemetry compatibility rules give it
 * (unit suffixes, `_total`), as our endpoint, the Collector's Prometheus
 * exporter and Prometheus's OTLP receiver write them, so the same queries work
 * on every path. A scraper that asks for OpenMetrics gets it, with `# UNIT`.
 */
export class PrometheusReader extends MetricReader {
  static readonly DEFAULT_OPTIONS = {
    host: undefined,
    port: 9464,
    endpoint: '/metrics',
    prefix: '',
    appendTimestamp: false,
    withResourceConstantLabels: undefined,
    withoutScopeInfo: false,
    withoutTargetInfo: false,
  } as const;

  readonly #host: string | undefined;
  readonly #port: number;
  readonly #endpoint: string;
  readonly #serializer: PrometheusTextSerializer;
  readonly #respond: ScrapeResponder;
  /** The pipelines of the procmetrics producers given: a failed scrape is counted in their exporter failures. */
  readonly #sources: SourceSet[] = [];
  /** A collection per format shared by the scrapes that arrive while it runs. */
  readonly #inFlight = new Map<ExpositionFormat, Promise<Buffer>>();
  readonly #reportedErrors = new Set<string>();
  #server: Server | undefined;
  #listening: Promise<void> | undefined;
  #boundPort: number | undefined;

  /**
   * Throws a typed argument error naming a bad option. Unless
   * `preventServerStart`, starts listening; `callback` (or `startServer()`)
   * tells when it does, or why it cannot (a PrometheusListenError).
   */
  constructor(options: PrometheusReaderOptions = {}, callback: (error?: Error) => void = () => {}) {
    const checked = checkOptions(options);
    super({
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
      ...(checked.metricProducers === undefined ? {} : { metricProducers: checked.metricProducers }),
    });
    const env = process.env;
    this.#host = checked.host ?? envValue(env, 'OTEL_EXPORTER_PROMETHEUS_HOST');
    this.#port =
      checked.port ??
      parseEnvInteger('OTEL_EXPORTER_PROMETHEUS_PORT', envValue(env, 'OTEL_EXPORTER_PROMETHEUS_PORT'), 0, 65535) ??
      PrometheusReader.DEFAULT_OPTIONS.port;
    this.#endpoint = (checked.endpoint ?? PrometheusReader.DEFAULT_OPTIONS.endpoint).replace(/^(?!\/)/, '/');
    this.#serializer = new PrometheusTextSerializer(checked);
    for (const producer of checked.metricProducers ?? []) {
      const sources = producer instanceof SnapshotMetricProducer ? producer.sources : undefined;
      if (sources === undefined) continue;
      sources.exporters(['prometheus']);
      this.#sources.push(sources);
    }
    const compressed = gzipOnce();
    this.#respond = scrapeResponder(
      async (request, gzipped) => {
        const format = negotiateFormat(request.headers.accept);
        const plain = await this.#exposition(format);
        return { body: gzipped ? await compressed(plain) : bodyOf(plain), contentType: CONTENT_TYPES[format] };
      },
      () => {
        for (const sources of this.#sources) sources.countExportFailure('prometheus');
      },
      { negotiated: true },
    );
    if (checked.preventServerStart === true) {
      queueMicrotask(() => callback());
    } else {
      this.startServer().then(
        () => callback(),
        (error: unknown) => {
          const failure = asError(error);
          diag.error(failure.message);
          callback(failure);
        },
      );
    }
  }

  /** `http://host:port/metrics` with the port bound; undefined until listening. */
  get url(): string | undefined {
    if (this.#boundPort === undefined) return undefined;
    return `http://${formatHostPort(this.#host ?? 'localhost', this.#boundPort)}${this.#endpoint}`;
  }

  /** Starts listening (once; later calls share the first). Rejects with a PrometheusListenError. */
  startServer(): Promise<void> {
    return (this.#listening ??= (async () => {
      const server = serve(new Map([[this.#endpoint, { methods: READ_METHODS, handle: this.#respond }]]));
      this.#server = server;
      this.#boundPort = await listen(server, this.#host, this.#port);
    })());
  }

  /** Stops listening and closes every connection. */
  async stopServer(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.#boundPort = undefined;
    await this.#listening?.catch(() => undefined);
    this.#listening = undefined;
    if (server.listening) await closeServer(server);
  }

  /**
   * Answers a scrape in a server of the application's own (any path): the
   * format the Accept header asks for, gzipped when Accept-Encoding takes it.
   */
  getMetricsRequestHandler(request: IncomingMessage, response: ServerResponse): void {
    void this.#respond(request, response);
  }

  /** The exposition a scrape would get now, in the 0.0.4 text format or OpenMetrics. */
  async scrape(format: ExpositionFormat = 'text'): Promise<string> {
    return (await this.#exposition(format)).toString('utf8');
  }

  protected override async onForceFlush(): Promise<void> {}

  protected override onShutdown(): Promise<void> {
    return this.stopServer();
  }

  #exposition(format: ExpositionFormat): Promise<Buffer> {
    let pending = this.#inFlight.get(format);
    if (pending === undefined) {
      pending = this.#collectText(format).finally(() => this.#inFlight.delete(format));
      this.#inFlight.set(format, pending);
    }
    return pending;
  }

  async #collectText(format: ExpositionFormat): Promise<Buffer> {
    const { resourceMetrics, errors } = await this.collect();
    // A failing callback of the application's fails every scrape the same way: say so once per message.
    for (const error of errors) {
      const message = error instanceof Error ? error.message : String(error);
      if (this.#reportedErrors.has(message) || this.#reportedErrors.size >= 64) continue;
      this.#reportedErrors.add(message);
      diag.error(`PrometheusReader: a metric callback failed: ${message}`);
    }
    return Buffer.from(this.#serializer.serialize(resourceMetrics, format), 'utf8');
  }
}
