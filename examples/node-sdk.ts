// An application instrumented the usual way, with NodeSDK, that serves the
// tracker's metrics and its own on its Prometheus endpoint under the names the
// shipped rules and dashboard query (process_cpu_time_seconds_total,
// process_memory_usage_bytes, ...): PrometheusReader in place of the official
// PrometheusExporter, whose names lack the unit suffixes.
//
//   npx tsx examples/node-sdk.ts          then: curl -s http://127.0.0.1:9464/metrics
//
// The port is OTEL_EXPORTER_PROMETHEUS_PORT (default 9464; 0 picks a free one),
// the interface OTEL_EXPORTER_PROMETHEUS_HOST (default here: loopback only).
//
// The tracker has no MeterProvider of its own (`meterProvider: null`); its
// MetricProducer is handed to the reader, so each scrape holds exactly its live
// services, with the tick histogram and the export failures. (A tracker on the
// global MeterProvider NodeSDK sets would report through observable instruments
// instead: the same names, but stopped services kept at their last values, and
// no histogram.)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { metrics } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { Tracker } from '../src/index.js';
import { PrometheusReader, createMetricProducer } from '../src/otel/index.js';

process.env['OTEL_TRACES_EXPORTER'] ??= 'none';
process.env['OTEL_LOGS_EXPORTER'] ??= 'none';

const tracker = new Tracker(undefined, { meterProvider: null, collectionInterval: 1000 });
const reader = new PrometheusReader({
  host: process.env['OTEL_EXPORTER_PROMETHEUS_HOST'] ?? '127.0.0.1',
  metricProducers: [createMetricProducer(tracker)],
});
const sdk = new NodeSDK({ serviceName: 'my-app', metricReaders: [reader], instrumentations: [] });
sdk.start();
await reader.startServer();

// The application's own metrics get the same naming: http_server_requests_total.
const requests = metrics.getMeter('my-app').createCounter('http.server.requests', { unit: '{request}', description: 'Requests served.' });
requests.add(1, { 'http.route': '/' });

const worker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
const workerExited = once(worker, 'exit');
await tracker.track('worker', worker.pid as number);
tracker.start();
console.log(`metrics on ${reader.url ?? ''}; Ctrl-C to stop`);

const stop = (): void => {
  void (async () => {
    worker.kill();
    await workerExited;
    await tracker.close();
    await sdk.shutdown();
  })();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
