import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  ConsoleMetricExporter,
  InstrumentType,
  PeriodicExportingMetricReader,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { TelemetryConfig, TemporalityPreference } from './config.js';
import { loadOptionalPeers } from './optional-peer.js';

/**
 * The OTel temporality table for OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE:
 * delta asks for delta sums from counters and histograms (sync or observable);
 * lowmemory only from the synchronous ones; up-down counters and gauges stay cumulative.
 */
function temporalityFor(preference: TemporalityPreference, type: InstrumentType): AggregationTemporality {
  const deltaTypes: readonly InstrumentType[] =
    preference === 'delta'
      ? [InstrumentType.COUNTER, InstrumentType.OBSERVABLE_COUNTER, InstrumentType.HISTOGRAM]
      : preference === 'lowmemory'
        ? [InstrumentType.COUNTER, InstrumentType.HISTOGRAM]
        : [];
  return deltaTypes.includes(type) ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
}

/** Told of every export that did not succeed. */
export type FailureCounter = () => void;

/** The exporter with the temporality the preference asks of the SDK's instruments. */
function withTemporality(inner: PushMetricExporter, preference: TemporalityPreference): PushMetricExporter {
  return {
    export: (metrics: ResourceMetrics, done: (result: ExportResult) => void) => inner.export(metrics, done),
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: (type) => temporalityFor(preference, type),
  };
}

/** The procmetrics series of a push reader, built by our producer rather than by SDK instruments. */
export type ProducerFactory = (temporality: 'cumulative' | 'delta') => MetricProducer;

/** How the OTLP push is doing, for a status line: failures are counted, never thrown. */
export interface OtlpExportStatus {
  /** `grpc http://collector:4317` or `http/protobuf http://collector:4318/v1/metrics`. */
  destination: string;
  /** The message of the last failed export; null until one fails. */
  lastError: string | null;
  /** When it failed, ms since epoch. */
  lastErrorAt: number | null;
  /** When an export last succeeded, ms since epoch; null until one does. */
  lastSuccessAt: number | null;
  /** Failed exports so far. */
  failures: number;
}

function newStatus(destination: string): OtlpExportStatus {
  return { destination, lastError: null, lastErrorAt: null, lastSuccessAt: null, failures: 0 };
}

/**
 * Watches what the exporter reports back (the SDK reader only hands failures
 * to the global error handler): the status, and the pipeline's failure count.
 */
function watchingExports(inner: PushMetricExporter, status: OtlpExportStatus, failed: FailureCounter): PushMetricExporter {
  return {
    export: (metrics, done) =>
      inner.export(metrics, (result) => {
        if (result.code === ExportResultCode.SUCCESS) {
          status.lastSuccessAt = Date.now();
        } else {
          failed();
          status.failures += 1;
          status.lastError = result.error?.message ?? 'export failed';
          status.lastErrorAt = Date.now();
        }
        done(result);
      }),
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
  };
}

/**
 * The exporter of the configured protocol, loaded on demand: a process that
 * pushes nothing (or only over one protocol) never loads gRPC or protobuf,
 * and an install without these optional peers fails here, by name.
 */
async function createOtlpExporter(config: TelemetryConfig['otlp']): Promise<PushMetricExporter> {
  if (config.protocol === 'http/protobuf') {
    const { OTLPMetricExporter } = await loadOptionalPeers(
      'OTLP over http/protobuf',
      ['@opentelemetry/exporter-metrics-otlp-proto'],
      () => import('@opentelemetry/exporter-metrics-otlp-proto'),
    );
    return new OTLPMetricExporter({ url: config.url, headers: config.headers, timeoutMillis: config.exportTimeoutMs });
  }
  const [{ OTLPMetricExporter }, { Metadata }] = await loadOptionalPeers(
    'OTLP over grpc',
    ['@opentelemetry/exporter-metrics-otlp-grpc', '@grpc/grpc-js'],
    () => Promise.all([import('@opentelemetry/exporter-metrics-otlp-grpc'), import('@grpc/grpc-js')]),
  );
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(config.headers)) metadata.set(key, value);
  return new OTLPMetricExporter({ url: config.url, metadata, timeoutMillis: config.exportTimeoutMs });
}

export async function createOtlpReader(
  config: TelemetryConfig['otlp'],
  producer: ProducerFactory,
  failed: FailureCounter,
): Promise<{ reader: PeriodicExportingMetricReader; status: OtlpExportStatus }> {
  const status = newStatus(`${config.protocol} ${config.url}`);
  const exporter = watchingExports(await createOtlpExporter(config), status, failed);
  const reader = new PeriodicExportingMetricReader({
    exporter: withTemporality(exporter, config.temporality),
    exportIntervalMillis: config.exportIntervalMs,
    exportTimeoutMillis: config.exportTimeoutMs,
    // Observable counters are delta only under the `delta` preference (see temporalityFor).
    metricProducers: [producer(config.temporality === 'delta' ? 'delta' : 'cumulative')],
  });
  return { reader, status };
}

export function createConsoleReader(
  config: TelemetryConfig['otlp'],
  producer: ProducerFactory,
  failed: FailureCounter,
): PeriodicExportingMetricReader {
  return new PeriodicExportingMetricReader({
    exporter: withTemporality(watchingExports(new ConsoleMetricExporter(), newStatus('console'), failed), 'cumulative'),
    exportIntervalMillis: config.exportIntervalMs,
    exportTimeoutMillis: config.exportTimeoutMs,
    metricProducers: [producer('cumulative')],
  });
}
