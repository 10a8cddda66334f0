import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { instrumentTracker } from '../../src/otel/instruments.js';
import { isLiveSeries } from '../../src/otel/live-series.js';
import { METRICS } from '../../src/otel/metric-table.js';
import { dropStaleSeries } from '../../src/otel/readers.js';
import { FakeSource, ManualReader, SEMCONV_PROCESS_METRICS, fakeSnapshot, flatten, pointsOf, type Point } from './support.js';

let source: FakeSource;
let reader: ManualReader;
let provider: MeterProvider;
let dispose: () => void;

/** What an export through procmetrics/otel would carry (stale series filtered out). */
async function exported(): Promise<Point[]> {
  const { resourceMetrics } = await reader.collect();
  return flatten(dropStaleSeries(resourceMetrics, (name, attributes) => isLiveSeries(provider, name, attributes)));
}

/** What the SDK itself produces, before our filter. */
async function raw(): Promise<Point[]> {
  return flatten((await reader.collect()).resourceMetrics);
}

beforeEach(() => {
  source = new FakeSource();
  reader = new ManualReader();
  provider = new MeterProvider({ readers: [reader] });
  dispose = instrumentTracker(source, provider, { fallbackCpus: 4 });
});

afterEach(async () => {
  dispose();
  await provider.shutdown();
});

describe('instrumentTracker', () => {
  it('exports every semconv process metric of a running service', async () => {
    source.set(fakeSnapshot());
    const names = new Set((await exported()).map((p) => p.name));
    for (const name of SEMCONV_PROCESS_METRICS) expect(names, name).toContain(name);
  });

  it('gives each metric the kind and unit of its table row', async () => {
    source.set(fakeSnapshot());
    source.errorCounts.set('io:EACCES', 3);
    const points = await exported();
    for (const row of METRICS) {
      const mine = pointsOf(points, row.name);
      expect(mine.length, row.name).toBeGreaterThan(0);
      for (const p of mine) {
        expect(p.unit, row.name).toBe(row.unit);
        const expected =
          row.kind === 'gauge' ? { type: 'gauge', monotonic: undefined } : { type: 'sum', monotonic: row.kind === 'counter' };
        expect({ type: p.type, monotonic: p.monotonic }, row.name).toEqual(expected);
      }
    }
  });

  it('puts service.name, process.pid, process.state and process.healthy on every process.* point, never lastError', async () => {
    source.set(fakeSnapshot({ serviceName: 'api', pid: 777, healthy: false, state: 'starting', lastError: 'boom' }));
    const points = (await exported()).filter((p) => p.name.startsWith('process.'));
    expect(points.length).toBeGreaterThan(0);
    for (const p of points) {
      expect(p.attributes).toMatchObject({
        'service.name': 'api',
        'process.pid': 777,
        'process.state': 'starting',
        'process.healthy': false,
      });
      expect(Object.values(p.attributes)).not.toContain('boom');
    }
  });

  it('reads values and dimension attributes from the snapshot', async () => {
    source.set(fakeSnapshot());
    const points = await exported();
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
    const [user] = pointsOf(await exported(), 'process.cpu.utilization', { 'cpu.mode': 'user' });
    expect(user?.value).toBeCloseTo(0.25);
  });

  it('leaves out data points whose value is unknown (null)', async () => {
    source.set(
      fakeSnapshot({ numFDs: null, readBytes: null, majorFaults: null, memory: { ...fakeSnapshot().memory, vms: null } }),
    );
    const points = await exported();
    expect(pointsOf(points, 'process.unix.file_descriptor.count')).toEqual([]);
    expect(pointsOf(points, 'process.memory.virtual')).toEqual([]);
    expect(pointsOf(points, 'process.disk.io', { 'disk.io.direction': 'read' })).toEqual([]);
    expect(pointsOf(points, 'process.disk.io', { 'disk.io.direction': 'write' })).toHaveLength(1);
    expect(pointsOf(points, 'process.paging.faults', { 'system.paging.fault.type': 'minor' })).toHaveLength(1);
  });

  it('reports state, health and restarts per service.name for services in any state', async () => {
    source.set(fakeSnapshot({ serviceName: 'up', restartCount: 2 }));
    source.set(fakeSnapshot({ serviceName: 'down', pid: 0, state: 'failed', healthy: false, restartCount: 5 }));
    const points = await exported();
    const state = (service: string): Record<string, number> =>
      Object.fromEntries(
        pointsOf(points, 'procmetrics.service.state', { 'service.name': service }).map((p) => [p.attributes['process.state'], p.value]),
      );
    expect(state('down')).toEqual({ stopped: 0, starting: 0, running: 0, stopping: 0, failed: 1 });
    expect(state('up')).toEqual({ stopped: 0, starting: 0, running: 1, stopping: 0, failed: 0 });
    expect(pointsOf(points, 'procmetrics.service.healthy', { 'service.name': 'down' })[0]?.value).toBe(0);
    const restarts = pointsOf(points, 'procmetrics.service.restarts', { 'service.name': 'down' });
    expect(restarts.map((p) => [p.value, p.attributes])).toEqual([[5, { 'service.name': 'down' }]]);
    // A failed service has no process, so no process.* series.
    expect(points.filter((p) => p.name.startsWith('process.') && p.attributes['service.name'] === 'down')).toEqual([]);
  });

  it('reports the tracker itself, with read errors by kind', async () => {
    source.trackerStats = { ...source.trackerStats, ticks: 9, lastTickDurationMs: 250, collectionErrors: 4, collectionTimeouts: 1 };
    source.errorCounts.set('io:EACCES', 3).set('fd:EMFILE', 1);
    const points = await exported();
    expect(pointsOf(points, 'procmetrics.tracker.ticks')[0]?.value).toBe(9);
    expect(pointsOf(points, 'procmetrics.tracker.tick.duration')[0]?.value).toBe(0.25);
    expect(pointsOf(points, 'procmetrics.tracker.sample.errors', { 'error.type': 'timeout' })[0]?.value).toBe(1);
    expect(pointsOf(points, 'procmetrics.tracker.sample.errors', { 'error.type': 'other' })[0]?.value).toBe(3);
    expect(pointsOf(points, 'procmetrics.tracker.read.errors', { 'error.type': 'io:EACCES' })[0]?.value).toBe(3);
    expect(pointsOf(points, 'procmetrics.tracker.read.errors', { 'error.type': 'fd:EMFILE' })[0]?.value).toBe(1);
  });

  it('stops observing once disposed', async () => {
    source.set(fakeSnapshot());
    expect((await exported()).length).toBeGreaterThan(0);
    dispose();
    expect(await exported()).toEqual([]);
  });
});

describe('series of services that stop', () => {
  it('the SDK alone keeps exporting a series the callback no longer observes (why the filter exists)', async () => {
    source.set(fakeSnapshot({ serviceName: 'web', pid: 100 }));
    await raw();
    source.set(fakeSnapshot({ serviceName: 'web', pid: 0, state: 'stopped' }));
    // If this starts failing, sdk-metrics drops stale series itself and live-series.ts can go.
    expect(pointsOf(await raw(), 'process.memory.usage', { 'process.pid': 100 })).toHaveLength(1);
  });

  it('drops the process.* series of a stopped, failed or untracked service from the next export', async () => {
    source.set(fakeSnapshot({ serviceName: 'a', pid: 101 }));
    source.set(fakeSnapshot({ serviceName: 'b', pid: 102 }));
    source.set(fakeSnapshot({ serviceName: 'c', pid: 103 }));
    const before = await exported();
    for (const pid of [101, 102, 103]) expect(pointsOf(before, 'process.cpu.time', { 'process.pid': pid })).toHaveLength(2);

    source.set(fakeSnapshot({ serviceName: 'a', pid: 0, state: 'stopped' }));
    source.set(fakeSnapshot({ serviceName: 'b', pid: 102, state: 'failed' }));
    source.snapshots.delete('c');
    const after = await exported();
    expect(after.filter((p) => p.name.startsWith('process.'))).toEqual([]);
    expect(pointsOf(after, 'procmetrics.service.state', { 'service.name': 'c' })).toEqual([]);
    expect(pointsOf(after, 'procmetrics.service.state', { 'service.name': 'b', 'process.state': 'failed' })[0]?.value).toBe(1);
  });

  it('moves a series to the new attributes when state or health changes', async () => {
    source.set(fakeSnapshot({ state: 'starting', healthy: false }));
    await exported();
    source.set(fakeSnapshot({ state: 'running', healthy: true }));
    const rss = pointsOf(await exported(), 'process.memory.usage');
    expect(rss.map((p) => [p.attributes['process.state'], p.attributes['process.healthy']])).toEqual([['running', true]]);
  });

  it('starts a new series for a restarted service and never lowers a counter', async () => {
    source.set(fakeSnapshot({ pid: 200, restartCount: 0, cpu: { ...fakeSnapshot().cpu, user: 30 } }));
    await exported();
    source.set(fakeSnapshot({ pid: 201, restartCount: 1, cpu: { ...fakeSnapshot().cpu, user: 0.5 } }));
    const points = await exported();
    const cpu = pointsOf(points, 'process.cpu.time', { 'cpu.mode': 'user' });
    expect(cpu.map((p) => [p.attributes['process.pid'], p.value])).toEqual([[201, 0.5]]);
    expect(pointsOf(points, 'procmetrics.service.restarts')[0]?.value).toBe(1);
  });
});
