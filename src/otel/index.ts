/**
 * `procmetrics/otel`: the OpenTelemetry SDK pipeline (Prometheus endpoint,
 * OTLP push over gRPC or HTTP, console), kept out of the library core, which depends on
 * @opentelemetry/api only.
 */
import { DiagConsoleLogger, DiagLogLevel, diag, metrics, type DiagLogger, type MeterProvider } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { type IMetricReader, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { resolveTelemetryConfig, type TelemetryOptions as ConfigOptions } from './config.js';
import { rateLimitedDiagLogger } from './diag.js';
import { ExpositionWriter } from './exposition.js';
import { resolveFallbackCpus, resolveTableOptions, type InstrumentOptions } from '../metrics/instruments.js';
import { SnapshotMetricProducer, type ProducerTemporality } from './producer.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentTypeError, InvalidArgumentValueError, describeValue } from '../core/errors.js';
import { READ_METHODS, startPrometheusEndpoint, type PrometheusEndpoint } from './prometheus.js';
import { createConsoleReader, createOtlpReader, type OtlpExportStatus } from './readers.js';
import type { SnapshotSource } from '../metrics/sources.js';
import { PipelineMeterProvider } from './pipeline-provider.js';
import { SourceSet } from './source-set.js';
import { compileTable } from '../metrics/walk.js';

export type { ExporterName, OtlpProtocol, TemporalityPreference, TelemetryConfig } from './config.js';
export type { OtlpExportStatus } from './readers.js';
export { resolveTelemetryConfig } from './config.js';
export { PrometheusListenError } from './prometheus.js';
export { ENDPOINT_LIMITS } from '../core/limits.js';
export { MissingPeerDependencyError } from './optional-peer.js';
export { rateLimitedDiagLogger, type RateLimitOptions } from './diag.js';
export {
  METRICS,
  identityOf,
  type MetricRow,
  type InstrumentKind,
  type Subject,
  type Identity,
  type TableOptions,
} from '../metrics/metric-table.js';
export { prometheusName } from '../metrics/prometheus-names.js';
export { PrometheusReader, type PrometheusReaderOptions } from './prometheus-reader.js';
export type { ExpositionFormat } from './prometheus-text.js';
export { instrumentTracker, METER_NAME, type SnapshotSource, type InstrumentOptions } from '../metrics/instruments.js';

export interface ProducerOptions extends InstrumentOptions {
  /** `delta` reports counters as the change since the previous export (default `cumulative`). */
  temporality?: ProducerTemporality;
}

/**
 * The tracker's metrics as a MetricProducer, for a reader of your own
 * (`new PeriodicExportingMetricReader({ exporter, metricProducers: [createMetricProducer(tracker)] })`,
 * or `new PrometheusExporter({ metricProducers: [...] })`): each collection
 * holds exactly the live services' series, and nothing is kept for services
 * that are gone. Give that tracker `meterProvider: null`, so its metrics do
 * not also arrive through instruments.
 */
export function createMetricProducer(tracker: SnapshotSource, options: ProducerOptions = {}): MetricProducer {
  const sources = new SourceSet();
  sources.add(tracker);
  const consumer = sources.consumer();
  const context = { fallbackCpus: resolveFallbackCpus(options.fallbackCpus) };
  return new SnapshotMetricProducer(compileTable(resolveTableOptions(options)), context, () => sources.gather(consumer), {
    temporality: options.temporality ?? 'cumulative',
    // A PrometheusReader given this producer reports its failed scrapes through these sources.
    sources,
  });
}

export interface TelemetryOptions extends ConfigOptions {
  /**
   * Where OTel's own diagnostics go (export failures, a collector that is down),
   * at most one message of a kind per minute. Default: the console, warnings
   * and errors. `null` leaves the global diag logger and error handler alone.
   */
  diagLogger?: DiagLogger | null;
  /** Also make this the global MeterProvider, which a Tracker uses when given none (default false). */
  registerGlobal?: boolean;
  /**
   * Also put procmetrics.state and procmetrics.healthy on the gauges of a live
   * process, on every exporter (default false). Every change of state or
   * health then starts new gauge series: a `for:` on them restarts, and
   * queries must sum them away (`sum by (service_name)`). Counters never carry
   * them, so rate() is the same either way.
   */
  stateAttributes?: boolean;
}

export interface Telemetry {
  /** Pass it to `new Tracker(collector, { meterProvider })`. */
  meterProvider: MeterProvider;
  /** http://host:port/metrics with the bound port; undefined without the Prometheus exporter. */
  prometheusUrl: string | undefined;
  /**
   * How the OTLP push is doing (where it goes, the last failure, how many
   * failed), a copy; undefined without the OTLP exporter. Failures are also
   * reported through OTel's diag logger, at most one line per kind a minute.
   */
  exportStatus(): OtlpExportStatus | undefined;
  /**
   * Serves `path` on the Prometheus endpoint too, beside /metrics, with the
   * same connection limits and timeouts: e.g. `snapshotStream(tracker)` on
   * `/events` (methods `['GET']`). `methods` defaults to GET and HEAD. Throws
   * when the Prometheus exporter is off or the path is already served.
   */
  route(path: string, handler: (request: IncomingMessage, response: ServerResponse) => unknown, methods?: readonly string[]): void;
  /** Pushes what OTLP and console have not sent yet. */
  forceFlush(): Promise<void>;
  /** Flushes, stops the readers and closes the Prometheus port. Idempotent. */
  shutdown(): Promise<void>;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function installDiag(logger: DiagLogger): void {
  diag.setLogger(rateLimitedDiagLogger(logger), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  // The default handler logs whole stack traces as JSON; one line per failure reads better and rate-limits by kind.
  setGlobalErrorHandler((error) => diag.error(describeError(error)));
}

/**
 * Starts the exporters chosen by `options`, else by the OTEL_* variables.
 * Resolves once the Prometheus port listens; rejects with a PrometheusListenError
 * (`code` 'EADDRINUSE' when the port is taken), with a MissingPeerDependencyError
 * when OTLP is chosen and its exporter package is not installed, or with a
 * typed argument error naming a bad option or variable.
 */
export async function startTelemetry(options: TelemetryOptions = {}): Promise<Telemetry> {
  const config = resolveTelemetryConfig(options);
  const tableOptions = resolveTableOptions(options);
  const diagLogger = options.diagLogger === undefined ? new DiagConsoleLogger() : options.diagLogger;
  if (diagLogger !== null) installDiag(diagLogger);

  const sources = new SourceSet();
  sources.exporters(config.exporters);
  const table = compileTable(tableOptions);
  const context = { fallbackCpus: resolveFallbackCpus(undefined) };
  const resource = defaultResource().merge(resourceFromAttributes(config.resourceAttributes));
  const producer = (temporality: ProducerTemporality): MetricProducer => {
    const consumer = sources.consumer();
    return new SnapshotMetricProducer(table, context, () => sources.gather(consumer), { temporality });
  };

  let prometheus: PrometheusEndpoint | undefined;
  let otlpStatus: OtlpExportStatus | undefined;
  const readers: IMetricReader[] = [];
  try {
    // First, so a taken port fails before anything else has started.
    if (config.exporters.includes('prometheus')) {
      const writer = new ExpositionWriter(table, context, resource.attributes);
      prometheus = await startPrometheusEndpoint(config.prometheus.host, config.prometheus.port, {
        sources,
        writer,
        timeouts: config.prometheus,
      });
      readers.push(prometheus.reader);
    }
    if (config.exporters.includes('otlp')) {
      const otlp = await createOtlpReader(config.otlp, producer, () => sources.countExportFailure('otlp'));
      readers.push(otlp.reader);
      otlpStatus = otlp.status;
    }
    if (config.exporters.includes('console')) {
      readers.push(createConsoleReader(config.otlp, producer, () => sources.countExportFailure('console')));
    }
  } catch (error) {
    await prometheus?.close();
    throw error;
  }

  // Trackers given this provider join the pipeline instead of creating instruments on it.
  const sdkProvider = new PipelineMeterProvider({ resource, readers }, sources);
  const registered = options.registerGlobal === true && metrics.setGlobalMeterProvider(sdkProvider);

  let shuttingDown: Promise<void> | undefined;
  return {
    meterProvider: sdkProvider,
    prometheusUrl: prometheus?.url,
    exportStatus: () => (otlpStatus === undefined ? undefined : { ...otlpStatus }),
    route: (path, handler, methods = READ_METHODS) => {
      if (typeof path !== 'string' || !path.startsWith('/')) {
        throw new InvalidArgumentValueError(`path must be a string starting with /, got ${describeValue(path)}`);
      }
      if (typeof handler !== 'function') throw new InvalidArgumentTypeError(`handler must be a function, got ${describeValue(handler)}`);
      if (prometheus === undefined) throw new Error(`cannot serve ${path}: the Prometheus exporter is off`);
      prometheus.mount(path, { methods, handle: handler });
    },
    forceFlush: () => sdkProvider.forceFlush(),
    shutdown: () =>
      (shuttingDown ??= (async () => {
        try {
          await sdkProvider.shutdown();
        } finally {
          await prometheus?.close();
          if (registered) metrics.disable();
        }
      })()),
  };
}
