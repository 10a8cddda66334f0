// The ways a Prometheus can scrape a tracker whose names the shipped rules and
// dashboard rely on: (a) the command's own endpoint (startTelemetry), and (b)
// an application that embeds the tracker in its own NodeSDK through PrometheusReader.
import { metrics } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker, type TrackerOptions } from '../../src/index.js';
import { PrometheusReader, createMetricProducer, startTelemetry } from '../../src/otel/index.js';

export interface ScrapedTracker {
  readonly tracker: Tracker;
  /** http://127.0.0.1:PORT/metrics */
  readonly url: string;
  /** Closes the tracker and whatever serves its metrics. */
  stop(): Promise<void>;
}

export interface ScrapePath {
  readonly name: string;
  start(options?: Pick<TrackerOptions, 'collectionInterval'>): Promise<ScrapedTracker>;
}

export const commandEndpoint: ScrapePath = {
  name: "the command's endpoint",
  async start(options = {}) {
    const telemetry = await startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 } });
    const tracker = new Tracker(defaultCollector(), { ...options, meterProvider: telemetry.meterProvider });
    return {
      tracker,
      url: telemetry.prometheusUrl!,
      stop: async () => {
        await tracker.close();
        await telemetry.shutdown();
      },
    };
  },
};

/** An application's NodeSDK with PrometheusReader as its metric reader, the tracker's producer handed to it. */
export const embeddedReader: ScrapePath = {
  name: 'an app NodeSDK with PrometheusReader',
  async start(options = {}) {
    process.env['OTEL_TRACES_EXPORTER'] ??= 'none';
    process.env['OTEL_LOGS_EXPORTER'] ??= 'none';
    const tracker = new Tracker(defaultCollector(), { ...options, meterProvider: null });
    const reader = new PrometheusReader({ host: '127.0.0.1', port: 0, metricProducers: [createMetricProducer(tracker)] });
    const sdk = new NodeSDK({ serviceName: 'my-app', metricReaders: [reader], instrumentations: [] });
    sdk.start();
    await reader.startServer();
    return {
      tracker,
      url: reader.url!,
      stop: async () => {
        await tracker.close();
        await sdk.shutdown();
        metrics.disable();
      },
    };
  },
};

export const SCRAPE_PATHS: readonly ScrapePath[] = [commandEndpoint, embeddedReader];
