// An application instrumented the usual way, with NodeSDK and a Prometheus
// reader of its own, gets the tracker's metrics through its own pipeline.
//
//   npx tsx examples/node-sdk.ts            then: curl -s http://127.0.0.1:9465/metrics
//
// Two trackers show the two ways in:
// - `viaInstruments` uses the global MeterProvider that NodeSDK sets: observable
//   instruments, one series per service and dimension value; the SDK keeps
//   exporting a stopped service at its last values.
// - `exact` has no MeterProvider; its MetricProducer is handed to the reader
//   (the one line), and each scrape holds exactly its live services.
import { spawn } from 'node:child_process';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { Tracker } from '../src/index.js';
import { createMetricProducer } from '../src/otel/index.js';

process.env['OTEL_TRACES_EXPORTER'] ??= 'none';
process.env['OTEL_LOGS_EXPORTER'] ??= 'none';

const exact = new Tracker(undefined, { meterProvider: null, collectionInterval: 1000 });
const sdk = new NodeSDK({
  serviceName: 'my-app',
  metricReaders: [new PrometheusExporter({ host: '127.0.0.1', port: 9465, metricProducers: [createMetricProducer(exact)] })],
  instrumentations: [],
});
sdk.start();
const viaInstruments = new Tracker(undefined, { collectionInterval: 1000 }); // the global provider NodeSDK registered

const worker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
await viaInstruments.track('worker-bounded', worker.pid as number);
await exact.track('worker-exact', worker.pid as number);
viaInstruments.start();
exact.start();
console.log('metrics on http://127.0.0.1:9465/metrics; Ctrl-C to stop');

process.once('SIGINT', () => {
  void (async () => {
    worker.kill();
    await Promise.all([viaInstruments.close(), exact.close()]);
    await sdk.shutdown();
  })();
});
