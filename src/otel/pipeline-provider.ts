import { MeterProvider, type MeterProviderOptions } from '@opentelemetry/sdk-metrics';
import type { SnapshotPipeline, SnapshotSource } from '../metrics/sources.js';
import type { SourceSet } from './source-set.js';

/**
 * The MeterProvider `startTelemetry` returns: an SDK provider (an application
 * may add its own instruments to it) that also carries procmetrics' pipeline.
 * A tracker given it joins `sources`, which the pipeline's Prometheus writer
 * and OTLP producer read directly, instead of creating instruments on it.
 */
export class PipelineMeterProvider extends MeterProvider implements SnapshotPipeline {
  readonly #sources: SourceSet;

  constructor(options: MeterProviderOptions, sources: SourceSet) {
    super(options);
    this.#sources = sources;
  }

  addSnapshotSource(source: SnapshotSource): () => void {
    return this.#sources.add(source);
  }
}
