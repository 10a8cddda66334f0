import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import {
  AggregationTemporality,
  ConsoleMetricExporter,
  InstrumentType,
  PeriodicExportingMetricReader,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { Metadata } from '@grpc/grpc-js';
import type { TelemetryConfig, TemporalityPreference } from './config.js';

/**
 * The OTel temporality table for OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE:
 * delta asks for delta sums from counters and histograms (sync or observable);
 * lowmemory only from the synchronous ones; up-down counters and gauges stay cumulative.
 */
export function temporalityFor(preference: TemporalityPreference, type: InstrumentType): AggregationTemporality {
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

/**
 * The exporter with the temporality the preference asks of the SDK's
 * instruments, counting the exports that fail.
 */
function withTemporality(inner: PushMetricExporter, preference: TemporalityPreference, failed: FailureCounter): PushMetricExporter {
  return {
    export: (metrics: ResourceMetrics, done: (result: ExportResult) => void) =>
      inner.export(metrics, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) failed();
        done(result);
      }),
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: (type) => temporalityFor(preference, type),
  };
}

/** The procmetrics series of a push reader, built by our producer rather than by SDK instruments. */
export type ProducerFactory = (temporality: 'cumulative' | 'delta') => MetricProducer;

export function createOtlpReader(
  config: TelemetryConfig['otlp'],
  producer: ProducerFactory,
  failed: FailureCounter,
): PeriodicExportingMetricReader {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(config.headers)) metadata.set(key, value);
  const exporter = new OTLPMetricExporter({ url: config.url, metadata, timeoutMillis: config.exportTimeoutMs });
  return new PeriodicExportingMetricReader({
    exporter: withTemporality(exporter, config.temporality, failed),
    exportIntervalMillis: config.exportIntervalMs,
    exportTimeoutMillis: config.exportTimeoutMs,
    // Observable counters are delta only under the `delta` preference (see temporalityFor).
    metricProducers: [producer(config.temporality === 'delta' ? 'delta' : 'cumulative')],
  });
}

export function createConsoleReader(
  config: TelemetryConfig['otlp'],
  producer: ProducerFactory,
  failed: FailureCounter,
): PeriodicExportingMetricReader {
  return new PeriodicExportingMetricReader({
    exporter: withTemporality(new ConsoleMetricExporter(), 'cumulative', failed),
    exportIntervalMillis: config.exportIntervalMs,
    exportTimeoutMillis: config.exportTimeoutMs,
    metricProducers: [producer('cumulative')],
  });
}
