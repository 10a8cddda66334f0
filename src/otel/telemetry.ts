/**
 * `startTelemetry`: procmetrics' own export pipeline (Prometheus endpoint,
 * OTLP push over gRPC or HTTP, console). The OpenTelemetry SDK parts are
 * loaded only when a pipeline needs them.
 */
import {
  DiagConsoleLogger,
  DiagLogLevel,
  createNoopMeter,
  diag,
  metrics,
  type DiagLogger,
  type Meter,
  type MeterProvider,
} from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import type { IMetricReader, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentTypeError, InvalidArgumentValueError, describeValue } from '../core/errors.js';
import { validateOptionalBoolean } from '../core/validate.js';
import { resolveFallbackCpus, resolveTableOptions } from '../metrics/instruments.js';
import type { SnapshotPipeline, SnapshotSource } from '../metrics/sources.js';
import { compileTable } from '../metrics/walk.js';
import { resolveTelemetryConfig, type TelemetryOptions as ConfigOptions } from './config.js';
import { rateLimitedDiagLogger } from './diag.js';
import { ExpositionWriter } from './exposition.js';
import type { ProducerTemporality } from './producer.js';
import { READ_METHODS, startPrometheusEndpoint, type PrometheusEndpoint } from './prometheus.js';
import type { OtlpExportStatus } from './readers.js';
import { SourceSet } from './source-set.js';

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
  /**
   * Whether the returned meterProvider also takes an application's own
   * instruments, exported beside procmetrics' series (default true). With
   * false its meters are no-ops, and a pipeline with only the Prometheus
   * exporter never loads the OpenTelemetry SDK (the `procmetrics` command runs
   * so).
   */
  applicationInstruments?: boolean;
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
  validateOptionalBoolean(options.applicationInstruments, 'options.applicationInstruments');
  const diagLogger = options.diagLogger === undefined ? new DiagConsoleLogger() : options.diagLogger;
  if (diagLogger !== null) installDiag(diagLogger);

  const sources = new SourceSet();
  sources.exporters(config.exporters);
  const table = compileTable(tableOptions);
  const context = { fallbackCpus: resolveFallbackCpus(undefined) };
  const resource = defaultResource().merge(resourceFromAttributes(config.resourceAttributes));
  // The SDK is loaded only for what needs it: OTLP, console, or an application's instruments.
  const withInstruments = options.applicationInstruments !== false;
  const sdk = withInstruments || config.exporters.some((name) => name !== 'prometheus') ? await import('./sdk-parts.js') : undefined;

  let prometheus: PrometheusEndpoint | undefined;
  let otlpStatus: OtlpExportStatus | undefined;
  const readers: IMetricReader[] = [];
  try {
    // First, so a taken port fails before anything else has started.
    if (config.exporters.includes('prometheus')) {
      const writer = new ExpositionWriter(table, context, resource.attributes);
      // The application's own instruments are served beside ours.
      const pull = withInstruments ? sdk?.applicationPull() : undefined;
      prometheus = await startPrometheusEndpoint(config.prometheus.host, config.prometheus.port, {
        sources,
        writer,
        timeouts: config.prometheus,
        ...(pull === undefined ? {} : { others: pull.text }),
      });
      if (pull !== undefined) readers.push(pull.reader);
    }
    if (sdk !== undefined) {
      const producer = (temporality: ProducerTemporality): MetricProducer => {
        const consumer = sources.consumer();
        return new sdk.SnapshotMetricProducer(table, context, () => sources.gather(consumer), { temporality });
      };
      if (config.exporters.includes('otlp')) {
        const otlp = await sdk.createOtlpReader(config.otlp, producer, () => sources.countExportFailure('otlp'));
        readers.push(otlp.reader);
        otlpStatus = otlp.status;
      }
      if (config.exporters.includes('console')) {
        readers.push(sdk.createConsoleReader(config.otlp, producer, () => sources.countExportFailure('console')));
      }
    }
  } catch (error) {
    await prometheus?.close();
    throw error;
  }

  // The SDK provider drives the readers and takes the application's instruments; trackers given
  // the provider returned join the pipeline instead of creating instruments on it.
  const sdkProvider =
    sdk !== undefined && (withInstruments || readers.length > 0)
      ? new sdk.PipelineMeterProvider({ resource, readers }, sources)
      : undefined;
  const provider: MeterProvider & SnapshotPipeline =
    withInstruments && sdkProvider !== undefined ? sdkProvider : new SnapshotsOnlyProvider(sources);
  const registered = options.registerGlobal === true && metrics.setGlobalMeterProvider(provider);

  let shuttingDown: Promise<void> | undefined;
  return {
    meterProvider: provider,
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
    forceFlush: async () => {
      await sdkProvider?.forceFlush();
    },
    shutdown: () =>
      (shuttingDown ??= (async () => {
        try {
          await sdkProvider?.shutdown();
        } finally {
          await prometheus?.close();
          if (registered) metrics.disable();
        }
      })()),
  };
}

/**
 * The provider of a pipeline that takes no application instruments: trackers
 * join it, and any meter asked of it records nothing.
 */
class SnapshotsOnlyProvider implements MeterProvider, SnapshotPipeline {
  constructor(private readonly sources: SourceSet) {}

  getMeter(): Meter {
    return createNoopMeter();
  }

  addSnapshotSource(source: SnapshotSource): () => void {
    return this.sources.add(source);
  }
}
