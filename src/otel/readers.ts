import type { Attributes } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import {
  AggregationTemporality,
  ConsoleMetricExporter,
  InstrumentType,
  PeriodicExportingMetricReader,
  type MetricData,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { Metadata } from '@grpc/grpc-js';
import type { TelemetryConfig, TemporalityPreference } from './config.js';
import { METER_NAME } from './instruments.js';

/** Answers whether a data point of the procmetrics meter was observed in the latest callback. */
export type LivenessCheck = (instrumentName: string, attributes: Attributes) => boolean;

/**
 * Drops the data points of the procmetrics meter that its latest callback did
 * not observe (see live-series.ts for why the SDK keeps them), and metrics left
 * without points. Other meters pass through untouched.
 */
export function dropStaleSeries(metrics: ResourceMetrics, isLive: LivenessCheck): ResourceMetrics {
  return {
    resource: metrics.resource,
    scopeMetrics: metrics.scopeMetrics.map((scope) => {
      if (scope.scope.name !== METER_NAME) return scope;
      const kept: MetricData[] = [];
      for (const metric of scope.metrics) {
        const name = metric.descriptor.name;
        const points = (metric.dataPoints as ReadonlyArray<{ attributes: Attributes }>).filter((p) => isLive(name, p.attributes));
        if (points.length > 0) kept.push({ ...metric, dataPoints: points } as MetricData);
      }
      return { scope: scope.scope, metrics: kept };
    }),
  };
}

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

/** A push exporter that filters stale series out before the real exporter sees them. */
function filteringExporter(
  inner: PushMetricExporter,
  isLive: LivenessCheck,
  preference: TemporalityPreference,
): PushMetricExporter {
  return {
    export: (metrics: ResourceMetrics, done: (result: ExportResult) => void) =>
      inner.export(dropStaleSeries(metrics, isLive), done),
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: (type) => temporalityFor(preference, type),
  };
}

export function createOtlpReader(config: TelemetryConfig['otlp'], isLive: LivenessCheck): PeriodicExportingMetricReader {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(config.headers)) metadata.set(key, value);
  const exporter = new OTLPMetricExporter({ url: config.url, metadata, timeoutMillis: config.exportTimeoutMs });
  return new PeriodicExportingMetricReader({
    exporter: filteringExporter(exporter, isLive, config.temporality),
    exportIntervalMillis: config.exportIntervalMs,
    exportTimeoutMillis: config.exportTimeoutMs,
  });
}

export function createConsoleReader(config: TelemetryConfig['otlp'], isLive: LivenessCheck): PeriodicExportingMetricReader {
  return new PeriodicExportingMetricReader({
    exporter: filteringExporter(new ConsoleMetricExporter(), isLive, 'cumulative'),
    exportIntervalMillis: config.exportIntervalMs,
    exportTimeoutMillis: config.exportTimeoutMs,
  });
}
