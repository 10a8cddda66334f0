/**
 * `procmetrics/otel`: the OpenTelemetry SDK pipeline (Prometheus endpoint,
 * OTLP gRPC push, console), kept out of the library core, which depends on
 * @opentelemetry/api only.
 */
import { DiagConsoleLogger, DiagLogLevel, diag, metrics, type DiagLogger, type MeterProvider } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider as SdkMeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { resolveTelemetryConfig, type TelemetryOptions as ConfigOptions } from './config.js';
import { rateLimitedDiagLogger } from './diag.js';
import { isLiveSeries } from './live-series.js';
import { METER_NAME } from './instruments.js';
import { startPrometheusEndpoint, type PrometheusEndpoint } from './prometheus.js';
import { createConsoleReader, createOtlpReader, type LivenessCheck } from './readers.js';

export type { ExporterName, TemporalityPreference, TelemetryConfig } from './config.js';
export { resolveTelemetryConfig } from './config.js';
export { PrometheusListenError } from './prometheus.js';
export { rateLimitedDiagLogger, type RateLimitOptions } from './diag.js';
export { METRICS, type MetricRow, type InstrumentKind, type Subject } from './metric-table.js';
export { instrumentTracker, METER_NAME, type SnapshotSource, type InstrumentOptions } from './instruments.js';

export interface TelemetryOptions extends ConfigOptions {
  /**
   * Where OTel's own diagnostics go (export failures, a collector that is down),
   * at most one message of a kind per minute. Default: the console, warnings
   * and errors. `null` leaves the global diag logger and error handler alone.
   */
  diagLogger?: DiagLogger | null;
  /** Also make this the global MeterProvider, which a Tracker uses when given none (default false). */
  registerGlobal?: boolean;
}

export interface Telemetry {
  /** Pass it to `new Tracker(collector, { meterProvider })`. */
  meterProvider: MeterProvider;
  /** http://host:port/metrics with the bound port; undefined without the Prometheus exporter. */
  prometheusUrl: string | undefined;
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
 * (`code` 'EADDRINUSE' when the port is taken) or with a typed argument error
 * naming a bad option or variable.
 */
export async function startTelemetry(options: TelemetryOptions = {}): Promise<Telemetry> {
  const config = resolveTelemetryConfig(options);
  const diagLogger = options.diagLogger === undefined ? new DiagConsoleLogger() : options.diagLogger;
  if (diagLogger !== null) installDiag(diagLogger);

  let provider: SdkMeterProvider | undefined;
  const isLive: LivenessCheck = (name, attributes) => provider !== undefined && isLiveSeries(provider, name, attributes);

  let prometheus: PrometheusEndpoint | undefined;
  const readers: IMetricReader[] = [];
  try {
    // First, so a taken port fails before anything else has started.
    if (config.exporters.includes('prometheus')) {
      prometheus = await startPrometheusEndpoint(config.prometheus.host, config.prometheus.port, isLive);
      readers.push(prometheus.reader);
    }
    if (config.exporters.includes('otlp')) readers.push(createOtlpReader(config.otlp, isLive));
    if (config.exporters.includes('console')) readers.push(createConsoleReader(config.otlp, isLive));
  } catch (error) {
    await prometheus?.close();
    throw error;
  }

  const sdkProvider = new SdkMeterProvider({
    resource: defaultResource().merge(resourceFromAttributes(config.resourceAttributes)),
    readers,
    views: [{ meterName: METER_NAME, aggregationCardinalityLimit: config.cardinalityLimit }],
  });
  provider = sdkProvider;
  const registered = options.registerGlobal === true && metrics.setGlobalMeterProvider(sdkProvider);

  let shuttingDown: Promise<void> | undefined;
  return {
    meterProvider: sdkProvider,
    prometheusUrl: prometheus?.url,
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
