// Cost of one metrics collection (what a Prometheus scrape or an OTLP export
// pays) for N tracked services, through the real SDK: our batch callback plus
// the SDK's own aggregation. Snapshots are synthetic and held in memory, so
// this measures the export path alone, not /proc.
//
//   npm run bench:scrape             (builds dist/ first)
//   SIZES=200,2000,10000 ROUNDS=7 npm run bench:scrape
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { instrumentTracker } from '../dist/otel/instruments.js';

const SIZES = (process.env.SIZES ?? '200,2000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 7);

/** A reader that only collects on demand. */
class OnDemandReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

function snapshot(i) {
  const cpu = { pid: 1000 + i, timestamp: 0, user: i, system: i / 2, childrenUser: 0, childrenSystem: 0, startTime: 1, usagePercent: 5, userPercent: 3, systemPercent: 2, cpusAvailable: 2 };
  const memory = { pid: 1000 + i, timestamp: 0, rss: 1 << 20, vms: 1 << 22, shared: 1, swap: 0, data: 1, stack: 1, usagePercent: 1 };
  return {
    serviceName: `svc-${i}`, pid: 1000 + i, state: 'running', healthy: true, restartCount: 0, lastError: '',
    cpu, memory, numFDs: 4, numThreads: 2, readBytesPerSec: 0, writeBytesPerSec: 0, readBytes: 1, writeBytes: 2,
    voluntaryContextSwitches: 3, involuntaryContextSwitches: 4, majorFaults: 5, minorFaults: 6,
    startTime: 1, uptime: 5000, timestamp: 0,
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

console.log(`node ${process.version}, rounds: ${ROUNDS} (medians shown)\n`);
console.log('| services | data points | ms per collection | us per data point |');
console.log('|---:|---:|---:|---:|');
for (const n of SIZES) {
  const snapshots = Array.from({ length: n }, (_, i) => snapshot(i));
  const stats = { ticks: 1, lastTickDurationMs: 1, collectionErrors: 0, collectionTimeouts: 0, processExits: 0, droppedSnapshots: 0, subscribers: 0, services: n };
  const source = { forEachSnapshot: (visit) => snapshots.forEach(visit), stats: () => stats, collectorErrorCounts: () => new Map() };
  const reader = new OnDemandReader();
  // As startTelemetry builds it: the SDK's default of 2,000 series per instrument would fold most of them into one.
  const provider = new MeterProvider({ readers: [reader], views: [{ meterName: 'procmetrics', aggregationCardinalityLimit: 1_000_000 }] });
  instrumentTracker(source, provider);
  const times = [];
  let points = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    const { resourceMetrics } = await reader.collect();
    times.push(performance.now() - started);
    points = resourceMetrics.scopeMetrics.reduce((sum, s) => sum + s.metrics.reduce((m, metric) => m + metric.dataPoints.length, 0), 0);
  }
  const ms = median(times);
  console.log(`| ${n} | ${points} | ${ms.toFixed(1)} | ${((ms * 1000) / points).toFixed(2)} |`);
  await provider.shutdown();
}
