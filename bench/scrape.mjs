// What one Prometheus scrape costs for N tracked services, three ways, in one run:
// - floor: a minimal hand-written exposition writer (plain loops, no caching) for the same series;
// - ours: the endpoint's ExpositionWriter, on fresh snapshot objects each round (as after a tick);
// - sdk: observable instruments on an SDK MeterProvider, serialized by the official PrometheusSerializer.
// Also: the longest event-loop stall while ours writes, and the heap a tracker and its
// pipeline hold per service. Snapshots are synthetic and held in memory: this measures
// the export path alone, not /proc. The heap is measured in a child process of its own
// (this script with --heap-only): the timed rounds leave garbage and warmed-up pools
// behind that would blur a difference of a few MiB.
//
//   npm run bench:scrape                       (builds dist/ first)
//   SIZES=200,2000,10000 ROUNDS=9 SDK_MAX=2000 npm run bench:scrape
import { spawnSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { Tracker } from '../dist/index.js';
import { emptyStats } from '../dist/core/stats.js';
import { ExpositionWriter } from '../dist/otel/exposition.js';
import { instrumentTracker } from '../dist/metrics/instruments.js';
import { METRICS } from '../dist/metrics/metric-table.js';
import { prometheusName } from '../dist/metrics/prometheus-names.js';
import { SourceSet } from '../dist/otel/source-set.js';
import { compileTable } from '../dist/metrics/walk.js';
import { snapshot } from './synthetic.mjs';
import { startTelemetry } from '../dist/otel/index.js';

const SIZES = (process.env.SIZES ?? '200,2000,10000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const SDK_MAX = Number(process.env.SDK_MAX ?? 2000);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

class OnDemandReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

let tickNo = 0;
/** A source whose snapshots are all replaced by `tick()`, as a tracker's sampling does. */
function fleet(n) {
  let snapshots = [];
  const stats = { ...emptyStats(5000), ticks: 1, lastTickDurationMs: 1, services: n };
  const source = {
    forEachSnapshot: (visit) => snapshots.forEach(visit),
    stats: () => stats,
    collectorErrorCounts: () => new Map(),
    tick() {
      tickNo += 1;
      stats.ticks = tickNo;
      snapshots = Array.from({ length: n }, (_, i) => snapshot(i, tickNo));
    },
  };
  source.tick();
  return source;
}

// The floor: the same text, as bytes, from the simplest code that can write it.
const esc = (v) => String(v).replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
function minimalWriter(source) {
  const snapshots = [];
  source.forEachSnapshot((s) => snapshots.push(s));
  const fallbackCpus = 2;
  let out = '# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{service_name="bench"} 1\n';
  for (const row of METRICS) {
    const name = prometheusName(row.name, row.unit, row.kind);
    let body = '';
    const subjects = row.subject === 'tracker' ? [{ stats: source.stats(), errorCounts: source.collectorErrorCounts() }] : snapshots;
    for (const s of subjects) {
      if (row.subject === 'process' && !(s.pid > 0 && s.state !== 'stopped' && s.state !== 'failed')) continue;
      let labels = '';
      if (row.subject !== 'tracker') labels = `service_name="${esc(s.serviceName)}"`;
      const emit = (extra, v) => {
        if (v === null || !Number.isFinite(v)) return;
        const all = labels && extra ? `${labels},${extra}` : labels || extra;
        body += `${name}${all ? `{${all}}` : ''} ${row.valueType === 'int' ? Math.trunc(v) : v}\n`;
      };
      const read = row.read;
      if (typeof read === 'function') emit('', read(s, { fallbackCpus }));
      else if ('values' in read)
        for (const [value, r] of Object.entries(read.values))
          emit(`${read.attribute.replace(/\./g, '_')}="${esc(value)}"`, r(s, { fallbackCpus }));
      else if ('histogram' in read) {
        const h = read.histogram(s);
        let cumulative = 0;
        h.counts.forEach((count, i) => {
          cumulative += count;
          const le = i < h.boundaries.length ? String(h.boundaries[i]) : '+Inf';
          body += `${name}_bucket{le="${le}"} ${cumulative}\n`;
        });
        body += `${name}_sum ${h.sum}\n${name}_count ${h.count}\n`;
      } else for (const [value, v] of read.entries(s)) emit(`${read.attribute.replace(/\./g, '_')}="${esc(value)}"`, v);
    }
    const type = row.kind === 'counter' ? 'counter' : row.kind === 'histogram' ? 'histogram' : 'gauge';
    if (body) out += `# HELP ${name} ${row.description}\n# TYPE ${name} ${type}\n${body}`;
  }
  // An HTTP response is bytes, whoever writes it: the encoding is part of the floor's cost too.
  return Buffer.from(out, 'utf8');
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
async function time(fn) {
  const started = performance.now();
  const result = await fn();
  return { ms: performance.now() - started, result };
}

/** The whole exposition, from the blocks the writer hands out. */
async function written(writer, gathered) {
  const blocks = [];
  await writer.write(gathered, (block) => void blocks.push(block));
  return Buffer.concat(blocks);
}

async function scrapeTables() {
  console.log(`node ${process.version}, rounds: ${ROUNDS} (medians)\n`);
  console.log(
    '| services | series | floor ms | ours ms | ours / floor | ours us/series | longest stall ms (ours) | SDK + serializer ms | SDK / ours |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const perSeries = [];
  for (const n of SIZES) {
    const source = fleet(n);
    const sources = new SourceSet();
    sources.add(source);
    const consumer = sources.consumer();
    const writer = new ExpositionWriter(compileTable(), { fallbackCpus: 2 }, { 'service.name': 'bench' });
    const floor = [];
    const ours = [];
    let series = 0;
    let stall = 0;
    for (let round = 0; round < ROUNDS; round++) {
      source.tick();
      const a = await time(() => minimalWriter(source));
      floor.push(a.ms);
      source.tick();
      const monitor = monitorEventLoopDelay({ resolution: 1 });
      monitor.enable();
      const b = await time(() => written(writer, sources.gather(consumer)));
      monitor.disable();
      ours.push(b.ms);
      stall = Math.max(stall, monitor.max / 1e6);
      series = b.result
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#')).length;
      if (round === 0 && a.result.length !== b.result.length) {
        // Same snapshots? No: a tick lies between them; compare shapes on the same data once.
        const same = minimalWriter(source).equals(await written(writer, sources.gather(consumer)));
        if (!same) console.warn(`note: floor and ours differ in text at ${n} services`);
      }
    }
    let sdkMs = NaN;
    if (n <= SDK_MAX) {
      const reader = new OnDemandReader();
      const provider = new MeterProvider({
        readers: [reader],
        views: [{ meterName: 'procmetrics', aggregationCardinalityLimit: 1_000_000 }],
      });
      instrumentTracker(source, provider, { fallbackCpus: 2 });
      const serializer = new PrometheusSerializer();
      const sdk = [];
      for (let round = 0; round < Math.min(ROUNDS, 5); round++) {
        source.tick();
        sdk.push((await time(async () => serializer.serialize((await reader.collect()).resourceMetrics))).ms);
      }
      sdkMs = median(sdk);
      await provider.shutdown();
    }
    const f = median(floor);
    const o = median(ours);
    perSeries.push({ n, us: (o * 1000) / series });
    console.log(
      `| ${n} | ${series} | ${f.toFixed(1)} | ${o.toFixed(1)} | ${(o / f).toFixed(2)} | ${((o * 1000) / series).toFixed(2)} | ${stall.toFixed(1)} | ${Number.isNaN(sdkMs) ? '-' : sdkMs.toFixed(1)} | ${Number.isNaN(sdkMs) ? '-' : (sdkMs / o).toFixed(1)} |`,
    );
  }
  if (perSeries.length > 1) {
    const first = perSeries[0];
    const last = perSeries.at(-1);
    console.log(
      `\ncost per series from ${first.n} to ${last.n} services: ${first.us.toFixed(2)} -> ${last.us.toFixed(2)} us (${(last.us / first.us).toFixed(2)}x; 1.00 is linear)`,
    );
  }
}

// Heap per tracked service: a real Tracker in a startTelemetry pipeline, scraped once. A
// collector that makes up samples stands in for /proc, so that every service has a live
// process and its full set of series, at a size no machine here can spawn.
async function heapPerService() {
  const HEAP_N = Number(process.env.HEAP_SERVICES ?? 10_000);
  const madeUp = {
    async collectCPU() {
      throw new Error('unused');
    },
    async collectMemory() {
      throw new Error('unused');
    },
    async sample(targets) {
      const now = Date.now();
      return targets.map(({ pid }) => ({
        ok: true,
        sample: {
          pid,
          timestamp: now,
          startTime: now - 60_000,
          cpu: { user: 1, system: 0.5, childrenUser: 0, childrenSystem: 0 },
          cpusAvailable: 2,
          memory: { rss: 1 << 20, vms: 1 << 22, shared: 1, swap: 0, data: 1, stack: 1 },
          numThreads: 2,
          numFDs: 4,
          readBytes: 1,
          writeBytes: 2,
          voluntaryContextSwitches: 3,
          involuntaryContextSwitches: 4,
          majorFaults: 5,
          minorFaults: 6,
        },
      }));
    },
  };
  await fetch('data:,warm-up'); // loads the HTTP client before the baseline, as the scrape below needs it
  gc();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const telemetry = await startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 } });
  const tracker = new Tracker(madeUp, { meterProvider: telemetry.meterProvider });
  for (let i = 0; i < HEAP_N; i++) await tracker.track(`service-${i}`, 100_000 + i);
  const text = await (await fetch(telemetry.prometheusUrl)).text();
  gc();
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  console.log(
    `\nheap held for ${HEAP_N} services with live processes (tracker + pipeline, after a scrape of ${lines} series): ${((heapAfter - heapBefore) / HEAP_N / 1024).toFixed(2)} KiB per service`,
  );
  await tracker.close();
  await telemetry.shutdown();
}

if (process.argv.includes('--heap-only')) {
  await heapPerService();
} else {
  await scrapeTables();
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--heap-only'], { stdio: 'inherit' });
  if (child.status !== 0) process.exitCode = child.status ?? 1;
}
