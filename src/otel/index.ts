/**
 * `procmetrics/otel`: the OpenTelemetry SDK pipeline (Prometheus endpoint,
 * OTLP push over gRPC or HTTP, console), kept out of the library core, which depends on
 * @opentelemetry/api only.
 */
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import { resolveFallbackCpus, resolveTableOptions, type InstrumentOptions } from '../metrics/instruments.js';
import { SnapshotMetricProducer, type ProducerTemporality } from './producer.js';
import type { SnapshotSource } from '../metrics/sources.js';
import { SourceSet } from './source-set.js';
import { compileTable } from '../metrics/walk.js';

export type { ExporterName, OtlpProtocol, TemporalityPreference, TelemetryConfig } from './config.js';
export type { OtlpExportStatus } from './readers.js';
export { resolveTelemetryConfig } from './config.js';
export { startTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.js';
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
