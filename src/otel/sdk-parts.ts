/**
 * The parts of the export pipeline built on the OpenTelemetry SDK, loaded by
 * `startTelemetry` only when a pipeline needs them: OTLP and console push,
 * and an application's own instruments on the pipeline's MeterProvider.
 */
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { PrometheusTextSerializer } from './prometheus-serializer.js';

export { PipelineMeterProvider } from './pipeline-provider.js';
export { SnapshotMetricProducer } from './producer.js';
export { createConsoleReader, createOtlpReader } from './readers.js';

/**
 * Collects what applications record on the pipeline's MeterProvider with
 * instruments of their own; the procmetrics series do not go through it.
 */
class PullReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** A reader of the application's instruments, and their Prometheus text (undefined while there are none). */
export function applicationPull(): { reader: MetricReader; text: () => Promise<Buffer | undefined> } {
  const reader = new PullReader();
  // Named by the same rules as ours; the exposition writer has target_info.
  const serializer = new PrometheusTextSerializer({ withoutTargetInfo: true });
  const text = async (): Promise<Buffer | undefined> => {
    const { resourceMetrics } = await reader.collect();
    const any = resourceMetrics.scopeMetrics.some((scope) => scope.metrics.length > 0);
    return any ? Buffer.from(serializer.serialize(resourceMetrics, 'text')) : undefined;
  };
  return { reader, text };
}
