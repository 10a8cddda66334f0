import type { Attributes } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExpositionWriter } from '../../src/otel/exposition.js';
import { createMetricProducer } from '../../src/otel/index.js';
import { instrumentTracker } from '../../src/metrics/instruments.js';
import { METRICS, identityOf } from '../../src/metrics/metric-table.js';
import { prometheusName } from '../../src/metrics/prometheus-names.js';
import { SourceSet } from '../../src/otel/source-set.js';
import { compileTable } from '../../src/metrics/walk.js';
import { DurationRecorder, TICK_DURATION_BOUNDS_MS } from '../../src/core/histogram.js';
import { parseExposition, type Sample } from './exposition.js';
import { FakeSource, ManualReader, SEMCONV_PROCESS_METRICS, fakeSnapshot, flatten, pointsOf, type Point } from './support.js';

/**
 * The three ways out of the metric table (the Prometheus writer, the OTLP
 * producer, observable instruments on a MeterProvider of the user's) must
 * carry the same series with the same values. The rules are checked on the
 * producer's points, and the other two are compared with it.
 */

let source: FakeSource;
let producerReader: ManualReader;
let producerProvider: MeterProvider;
let sdkReader: ManualReader;
let sdkProvider: MeterProvider;
let dispose: () => void;
let writer: ExpositionWriter;
let sources: SourceSet;
let consumer: object;

/** The three ways out, over one source, all with the same table options. */
function build(stateAttributes: boolean): void {
  source = new FakeSource();
  producerReader = new ManualReader({ metricProducers: [createMetricProducer(source, { fallbackCpus: 4, stateAttributes })] });
  producerProvider = new MeterProvider({ readers: [producerReader] });
  sdkReader = new ManualReader();
  sdkProvider = new MeterProvider({ readers: [sdkReader] });
  dispose = instrumentTracker(source, sdkProvider, { fallbackCpus: 4, stateAttributes });
  sources = new SourceSet();
  sources.add(source);
  consumer = sources.consumer();
  writer = new ExpositionWriter(compileTable({ stateAttributes }), { fallbackCpus: 4 }, { 'service.name': 'supervisor' }, { sliceMs: 1 });
}

async function tearDown(): Promise<void> {
  dispose();
  await producerProvider.shutdown();
  await sdkProvider.shutdown();
}

beforeEach(() => build(false));
afterEach(tearDown);

async function produced(): Promise<Point[]> {
  return flatten((await producerReader.collect()).resourceMetrics);
}

/** The writer's text, from the blocks it hands out. */
async function writtenText(): Promise<string> {
  const blocks: Buffer[] = [];
  await writer.write(sources.gather(consumer), (block) => void blocks.push(block));
  return Buffer.concat(blocks).toString('utf8');
}

async function exposition(): Promise<Sample[]> {
  return parseExposition(await writtenText());
}

/** A point as the Prometheus writer must show it: one sample, or a histogram's buckets, sum and count. */
function asSamples(point: Point): Sample[] {
  const row = METRICS.find((r) => r.name === point.name)!;
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(point.attributes)) labels[key.replace(/\./g, '_')] = String(value);
  const name = prometheusName(row.name, row.unit, row.kind);
  if (point.histogram === undefined) return [{ name, labels, value: point.value }];
  let cumulative = 0;
  const buckets = point.histogram.counts.map((count, i) => {
    cumulative += count;
    const le = point.histogram!.bounds[i];
    return { name: `${name}_bucket`, labels: { ...labels, le: le === undefined ? '+Inf' : String(le) }, value: cumulative };
  });
  return [...buckets, { name: `${name}_sum`, labels, value: point.histogram.sum }, { name: `${name}_count`, labels, value: point.value }];
}

const byKey = <T extends { name: string }>(items: T[], labels: (item: T) => Attributes | Record<string, string>): string[] =>
  items
    .map((i) => `${i.name}${JSON.stringify(Object.entries(labels(i)).sort())}=${JSON.stringify((i as { value?: unknown }).value)}`)
    .sort();

const API_LABELS = Object.freeze({ team: 'payments', tier: '1', note: 'a "quoted" \\ value' });

function mixedFleet(): void {
  source.set(fakeSnapshot({ serviceName: 'api', restartCount: 2, labels: API_LABELS }));
  source.set(fakeSnapshot({ serviceName: 'worker', pid: 5151, state: 'starting', healthy: false, numFDs: null }));
  source.set(fakeSnapshot({ serviceName: 'down', pid: 0, state: 'failed', healthy: false, restartCount: 5 }));
  source.errorCounts.set('io:EACCES', 3);
}

describe.each([
  ['by default', false],
  ['with stateAttributes', true],
])('one table, three ways out, %s', (_mode, stateAttributes) => {
  beforeEach(async () => {
    if (!stateAttributes) return;
    await tearDown();
    build(true);
  });

  it('the Prometheus writer shows exactly the producer points, under Prometheus names', async () => {
    mixedFleet();
    const samples = (await exposition()).filter((s) => s.name !== 'target_info');
    expect(byKey(samples, (s) => s.labels)).toEqual(byKey((await produced()).flatMap(asSamples), (s) => s.labels));
  });

  it('instruments on a MeterProvider of the user carry the same series and values as the producer, histograms aside', async () => {
    mixedFleet();
    const sdk = flatten((await sdkReader.collect()).resourceMetrics);
    // The API has no observable histogram: the tick histogram exists in our pipelines and the producer only.
    const ours = (await produced()).filter((p) => p.type !== 'histogram');
    expect(byKey(sdk, (p) => p.attributes)).toEqual(byKey(ours, (p) => p.attributes));
  });

  it('the writer adds target_info from the resource, and one HELP and TYPE per family', async () => {
    mixedFleet();
    const text = await writtenText();
    expect(text).toMatch(/^# HELP target_info .*\n# TYPE target_info gauge\ntarget_info\{service_name="supervisor"\} 1\n/);
    for (const row of METRICS) {
      const name = prometheusName(row.name, row.unit, row.kind);
      expect(text.split(`# TYPE ${name} `).length - 1, name).toBeLessThanOrEqual(1);
    }
    expect(text).toContain('# TYPE process_cpu_time_seconds_total counter\n');
    expect(text).toContain('# TYPE process_memory_usage_bytes gauge\n');
  });
});

describe('identity', () => {
  it("by default every data point carries service.name, the service's own labels and its dimension only; no pid anywhere", async () => {
    mixedFleet();
    const points = await produced();
    for (const p of points) {
      const row = METRICS.find((r) => r.name === p.name)!;
      const keys = Object.keys(p.attributes);
      expect(keys, p.name).not.toContain('process.pid');
      const identity = identityOf(row);
      expect(identity, p.name).not.toBe('status');
      const own = row.read as { attribute?: string };
      const service =
        identity === 'service' ? ['service.name', ...(p.attributes['service.name'] === 'api' ? Object.keys(API_LABELS) : [])] : [];
      const expected = [...service, ...(own.attribute === undefined ? [] : [own.attribute])];
      expect(keys.sort(), p.name).toEqual(expected.sort());
    }
    expect(pointsOf(points, 'process.cpu.time', { 'service.name': 'api' }).map((p) => p.attributes)).toEqual([
      { 'cpu.mode': 'user', 'service.name': 'api', ...API_LABELS },
      { 'cpu.mode': 'system', 'service.name': 'api', ...API_LABELS },
    ]);
    expect(pointsOf(points, 'process.memory.usage', { 'service.name': 'worker' })[0]?.attributes).toEqual({ 'service.name': 'worker' });
    // State and health are where a query joins them from: the state set and the healthy gauge.
    expect(
      pointsOf(points, 'procmetrics.service.state', { 'service.name': 'worker', 'procmetrics.state': 'starting' }).map((p) => p.value),
    ).toEqual([1]);
    expect(pointsOf(points, 'procmetrics.service.healthy', { 'service.name': 'worker' }).map((p) => [p.value, p.attributes])).toEqual([
      [0, { 'service.name': 'worker' }],
    ]);
  });

  it('with stateAttributes the gauges of a live process add state and health; counters and service rows do not', async () => {
    await tearDown();
    build(true);
    mixedFleet();
    const points = await produced();
    for (const p of points) {
      const row = METRICS.find((r) => r.name === p.name)!;
      const keys = Object.keys(p.attributes);
      const identity = identityOf(row, { stateAttributes: true });
      // The state set's own dimension is procmetrics.state: only the identity is checked here.
      const status = ['procmetrics.healthy', 'procmetrics.state'].filter((k) => k !== (row.read as { attribute?: string }).attribute);
      expect(keys.filter((k) => status.includes(k)).sort(), p.name).toEqual(identity === 'status' ? status : []);
      expect(identity === 'status', p.name).toBe(row.subject === 'process' && row.kind !== 'counter');
    }
    expect(pointsOf(points, 'process.memory.usage', { 'service.name': 'worker' })[0]?.attributes).toEqual({
      'service.name': 'worker',
      'procmetrics.state': 'starting',
      'procmetrics.healthy': false,
    });
    expect(pointsOf(points, 'process.cpu.time', { 'service.name': 'worker' }).map((p) => Object.keys(p.attributes).sort())).toEqual([
      ['cpu.mode', 'service.name'],
      ['cpu.mode', 'service.name'],
    ]);
  });

  it.each([
    ['gauge', 'by default', false],
    ['counter', 'by default', false],
    ['counter', 'with stateAttributes', true],
  ])('a health flip, a state change and a restart keep every %s series the same, %s', async (kind, _mode, stateAttributes) => {
    if (stateAttributes) {
      await tearDown();
      build(true);
    }
    const series = async (): Promise<string[]> =>
      (await exposition())
        .filter((s) => s.name.startsWith('process_') && s.name.endsWith('_total') === (kind === 'counter'))
        .map((s) => `${s.name}${JSON.stringify(s.labels)}`)
        .sort();
    source.set(fakeSnapshot({ serviceName: 'api', pid: 100 }));
    const before = await series();
    expect(before.length).toBeGreaterThan(4);
    source.set(fakeSnapshot({ serviceName: 'api', pid: 100, healthy: false }));
    expect(await series()).toEqual(before);
    source.set(fakeSnapshot({ serviceName: 'api', pid: 100, state: 'stopping', healthy: false }));
    expect(await series()).toEqual(before);
    source.set(fakeSnapshot({ serviceName: 'api', pid: 101, restartCount: 1 }));
    expect(await series()).toEqual(before);
  });

  it('new labels on a service show on the next collection of every way out; our pipelines drop the old ones', async () => {
    const key = (l: Attributes | Record<string, string>): string => JSON.stringify(Object.entries(l).sort());
    const collect = async (): Promise<{ sdk: string[]; ours: string[] }> => {
      const sdk = flatten((await sdkReader.collect()).resourceMetrics).filter((p) => p.name === 'process.memory.usage');
      const produced_ = pointsOf(await produced(), 'process.memory.usage', { 'service.name': 'api' });
      const text = (await exposition()).filter((s) => s.name === 'process_memory_usage_bytes');
      return {
        sdk: sdk.map((p) => key(p.attributes)),
        ours: [...produced_.map((p) => key(p.attributes)), ...text.map((s) => key(s.labels))],
      };
    };
    source.set(fakeSnapshot({ serviceName: 'api', labels: Object.freeze({ team: 'a' }) }));
    const first = await collect();
    const a = key({ 'service.name': 'api', team: 'a' });
    expect(first).toEqual({ sdk: [a], ours: [a, key({ service_name: 'api', team: 'a' })] });
    source.set(fakeSnapshot({ serviceName: 'api', labels: Object.freeze({ team: 'b', tier: '2' }) }));
    const second = await collect();
    const b = key({ 'service.name': 'api', team: 'b', tier: '2' });
    expect(second.ours).toEqual([b, key({ service_name: 'api', team: 'b', tier: '2' })]);
    // An SDK's own reader keeps reporting an attribute set it has seen once (as it does after a state change).
    expect(second.sdk).toContain(b);
  });

  it('the pid is the value of procmetrics.service.pid while there is a live process', async () => {
    mixedFleet();
    const points = await produced();
    expect(pointsOf(points, 'procmetrics.service.pid', { 'service.name': 'worker' }).map((p) => p.value)).toEqual([5151]);
    expect(pointsOf(points, 'procmetrics.service.pid', { 'service.name': 'down' })).toEqual([]);
  });

  it('never exports lastError or healthError text', async () => {
    source.set(fakeSnapshot({ serviceName: 'api', lastError: 'boom', healthError: 'exited with code 7' }));
    const text = await writtenText();
    expect(text).not.toContain('boom');
    expect(text).not.toContain('exited');
  });
});

describe('values', () => {
  it('exports every semconv process metric of a running service, with the kind and unit of its row', async () => {
    source.set(fakeSnapshot());
    source.errorCounts.set('io:EACCES', 3);
    source.trackerStats = { ...source.trackerStats, collectorOpenFds: 12 };
    const points = await produced();
    for (const name of SEMCONV_PROCESS_METRICS) expect(pointsOf(points, name).length, name).toBeGreaterThan(0);
    for (const row of METRICS) {
      // Export failures belong to a pipeline; a bare producer has none to report (telemetry.test.ts covers them).
      if (row.name === 'procmetrics.exporter.failures') continue;
      const mine = pointsOf(points, row.name);
      expect(mine.length, row.name).toBeGreaterThan(0);
      for (const p of mine) {
        expect(p.unit, row.name).toBe(row.unit);
        const expected =
          row.kind === 'gauge' || row.kind === 'histogram'
            ? { type: row.kind, monotonic: undefined }
            : { type: 'sum', monotonic: row.kind === 'counter' };
        expect({ type: p.type, monotonic: p.monotonic }, row.name).toEqual(expected);
      }
    }
  });

  it('reads values and dimension attributes from the snapshot', async () => {
    source.set(fakeSnapshot());
    const points = await produced();
    const one = (name: string, match = {}): number => {
      const found = pointsOf(points, name, match);
      expect(found, `${name} ${JSON.stringify(match)}`).toHaveLength(1);
      return found[0]!.value;
    };
    expect(one('process.cpu.time', { 'cpu.mode': 'user' })).toBe(1.5);
    expect(one('process.cpu.time', { 'cpu.mode': 'system' })).toBe(0.25);
    // 50 % of one core on a process allowed 2 CPUs is a quarter of what it may use.
    expect(one('process.cpu.utilization', { 'cpu.mode': 'user' })).toBeCloseTo(0.25);
    expect(one('process.cpu.utilization', { 'cpu.mode': 'system' })).toBeCloseTo(0.125);
    expect(one('process.memory.usage')).toBe(10_485_760);
    expect(one('process.memory.virtual')).toBe(104_857_600);
    expect(one('process.disk.io', { 'disk.io.direction': 'read' })).toBe(4096);
    expect(one('process.disk.io', { 'disk.io.direction': 'write' })).toBe(8192);
    expect(one('process.thread.count')).toBe(3);
    expect(one('process.unix.file_descriptor.count')).toBe(12);
    expect(one('process.context_switches', { 'process.context_switch.type': 'voluntary' })).toBe(100);
    expect(one('process.context_switches', { 'process.context_switch.type': 'involuntary' })).toBe(7);
    expect(one('process.paging.faults', { 'system.paging.fault.type': 'major' })).toBe(2);
    expect(one('process.paging.faults', { 'system.paging.fault.type': 'minor' })).toBe(900);
    expect(one('process.uptime')).toBe(60);
  });

  it('falls back to the given CPU count when the snapshot does not know it', async () => {
    const snapshot = fakeSnapshot();
    source.set({ ...snapshot, cpu: { ...snapshot.cpu, cpusAvailable: null, userPercent: 100 } });
    const [user] = pointsOf(await produced(), 'process.cpu.utilization', { 'cpu.mode': 'user' });
    expect(user?.value).toBeCloseTo(0.25);
  });

  it('leaves out data points whose value is unknown (null)', async () => {
    source.set(fakeSnapshot({ numFDs: null, readBytes: null, majorFaults: null, memory: { ...fakeSnapshot().memory, vms: null } }));
    const points = await produced();
    expect(pointsOf(points, 'process.unix.file_descriptor.count')).toEqual([]);
    expect(pointsOf(points, 'process.memory.virtual')).toEqual([]);
    expect(pointsOf(points, 'process.disk.io', { 'disk.io.direction': 'read' })).toEqual([]);
    expect(pointsOf(points, 'process.disk.io', { 'disk.io.direction': 'write' })).toHaveLength(1);
  });

  it('reports state, health and restarts per service.name for services in any state', async () => {
    mixedFleet();
    const points = await produced();
    const state = (service: string): Record<string, number> =>
      Object.fromEntries(
        pointsOf(points, 'procmetrics.service.state', { 'service.name': service }).map((p) => [
          String(p.attributes['procmetrics.state']),
          p.value,
        ]),
      );
    expect(state('down')).toEqual({ stopped: 0, starting: 0, running: 0, stopping: 0, failed: 1 });
    expect(state('api')).toEqual({ stopped: 0, starting: 0, running: 1, stopping: 0, failed: 0 });
    expect(pointsOf(points, 'procmetrics.service.healthy', { 'service.name': 'down' })[0]?.value).toBe(0);
    expect(pointsOf(points, 'procmetrics.service.restarts', { 'service.name': 'down' }).map((p) => [p.value, p.attributes])).toEqual([
      [5, { 'service.name': 'down' }],
    ]);
    // A failed service has no process, so no process.* series.
    expect(points.filter((p) => p.name.startsWith('process.') && p.attributes['service.name'] === 'down')).toEqual([]);
  });

  it('reports the tracker itself, with read errors by kind', async () => {
    const ticks = new DurationRecorder(TICK_DURATION_BOUNDS_MS);
    for (const ms of [0.5, 3, 3, 250, 40_000]) ticks.record(ms);
    source.trackerStats = {
      ...source.trackerStats,
      ticks: 9,
      tickDurations: ticks.value(),
      intervalMs: 1500,
      lastSweepDurationMs: 20,
      lastSweepTargets: 400,
      collectorOpenFds: 800,
      collectionErrors: 4,
      collectionTimeouts: 1,
    };
    source.errorCounts.set('io:EACCES', 3).set('fd:EMFILE', 1);
    const points = await produced();
    expect(pointsOf(points, 'procmetrics.tracker.ticks')[0]?.value).toBe(9);
    const [tick] = pointsOf(points, 'procmetrics.tracker.tick.duration');
    expect(tick?.value).toBe(5);
    expect(tick?.histogram?.sum).toBeCloseTo(40.2565);
    // 1 ms, 2.5, 5 ... in seconds; 0.5 ms in the first bucket, 3 ms twice in (2.5, 5], 250 ms in (100, 250], 40 s past the last bound.
    expect(tick?.histogram?.bounds.slice(0, 3)).toEqual([0.001, 0.0025, 0.005]);
    expect(tick?.histogram?.counts).toEqual([1, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
    expect(pointsOf(points, 'procmetrics.tracker.interval')[0]?.value).toBe(1.5);
    expect(pointsOf(points, 'procmetrics.tracker.sweep.cost')[0]?.value).toBeCloseTo(0.00005);
    expect(pointsOf(points, 'procmetrics.collector.open_fds')[0]?.value).toBe(800);
    expect(pointsOf(points, 'procmetrics.tracker.sample.errors', { 'error.type': 'timeout' })[0]?.value).toBe(1);
    expect(pointsOf(points, 'procmetrics.tracker.sample.errors', { 'error.type': 'other' })[0]?.value).toBe(3);
    expect(pointsOf(points, 'procmetrics.tracker.read.errors', { 'error.type': 'io:EACCES' })[0]?.value).toBe(3);
    expect(pointsOf(points, 'procmetrics.tracker.read.errors', { 'error.type': 'fd:EMFILE' })[0]?.value).toBe(1);
  });

  it('label values keep quotes, backslashes, newlines, braces and unicode exactly', async () => {
    const name = 'we"ird\\na{m}=e ünï 🚀';
    source.set(fakeSnapshot({ serviceName: name }));
    source.errorCounts.set('io:"x"\n', 1);
    const samples = await exposition();
    expect(samples.filter((s) => s.name === 'process_memory_usage_bytes').map((s) => s.labels['service_name'])).toEqual([name]);
    expect(samples.find((s) => s.name === 'procmetrics_tracker_read_errors_total')?.labels['error_type']).toBe('io:"x"\n');
  });
});

describe('exact series', () => {
  it('a stopped, failed or untracked service loses its process series at the next collection, in every way out', async () => {
    for (const name of ['a', 'b', 'c']) source.set(fakeSnapshot({ serviceName: name }));
    await produced();
    await exposition();
    source.set(fakeSnapshot({ serviceName: 'a', pid: 0, state: 'stopped' }));
    source.set(fakeSnapshot({ serviceName: 'b', state: 'failed' }));
    source.snapshots.delete('c');
    const points = await produced();
    expect(points.filter((p) => p.name.startsWith('process.'))).toEqual([]);
    expect(pointsOf(points, 'procmetrics.service.state', { 'service.name': 'c' })).toEqual([]);
    expect((await exposition()).filter((s) => s.name.startsWith('process_') || s.labels['service_name'] === 'c')).toEqual([]);
  });

  it('a cumulative process counter starts at the process start time, so a restart is a reset', async () => {
    const started = Date.now() - 30_000;
    source.set(fakeSnapshot({ serviceName: 'api', startTime: started }));
    const { resourceMetrics } = await producerReader.collect();
    const cpu = resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'process.cpu.time')!;
    const [seconds, nanos] = cpu.dataPoints[0]!.startTime;
    expect(seconds * 1000 + nanos / 1e6).toBeCloseTo(started, 0);
  });

  it('delta temporality reports what changed since the previous export, and a restart from zero', async () => {
    const reader = new ManualReader({ metricProducers: [createMetricProducer(source, { temporality: 'delta' })] });
    const provider = new MeterProvider({ readers: [reader] });
    const user = async (): Promise<number | undefined> =>
      pointsOf(flatten((await reader.collect()).resourceMetrics), 'process.cpu.time', { 'cpu.mode': 'user' })[0]?.value;
    const base = fakeSnapshot({ serviceName: 'api' });
    source.set({ ...base, cpu: { ...base.cpu, user: 10 } });
    expect(await user()).toBe(10);
    source.set({ ...base, cpu: { ...base.cpu, user: 12.5 } });
    expect(await user()).toBe(2.5);
    source.set({ ...base, pid: 999, startTime: base.startTime + 5000, cpu: { ...base.cpu, user: 1 } });
    expect(await user()).toBe(1);
    await provider.shutdown();
  });

  it('instruments stop observing once disposed (the SDK itself keeps what it last saw)', async () => {
    source.set(fakeSnapshot({ serviceName: 'api' }));
    const memory = async (): Promise<number[]> =>
      pointsOf(flatten((await sdkReader.collect()).resourceMetrics), 'process.memory.usage').map((p) => p.value);
    expect(await memory()).toEqual([10_485_760]);
    dispose();
    source.set(fakeSnapshot({ serviceName: 'api', memory: { ...fakeSnapshot().memory, rss: 1 } }));
    source.set(fakeSnapshot({ serviceName: 'other' }));
    expect(await memory()).not.toContain(1);
    expect((await memory()).length).toBeLessThanOrEqual(1);
  });
});

describe('blocks', () => {
  it('with reuse every block is written into the same memory, and the text is the same as without', async () => {
    // Enough services for many 64 Ki-character blocks, with multi-byte label values.
    for (let i = 0; i < 600; i++) source.set(fakeSnapshot({ serviceName: `svc-${i}-ünïcødé`, pid: 1000 + i, labels: { zone: `ζ-${i}` } }));
    const plain = await writtenText();
    const copies: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    await writer.write(
      sources.gather(consumer),
      async (block) => {
        memory.add(block.buffer);
        copies.push(Buffer.from(block));
        await new Promise((resolve) => setImmediate(resolve));
      },
      { reuse: true },
    );
    expect(copies.length).toBeGreaterThan(3);
    expect(memory.size).toBe(1);
    expect(Buffer.concat(copies).toString('utf8')).toBe(plain);
  });
});
