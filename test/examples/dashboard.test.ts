// The example Grafana dashboard: its JSON and provisioning files, and every query
// in it run against a real Prometheus scraping a tracker that follows a real child
// and a real cgroup with a memory limit and a CPU quota.
// That Prometheus also loads the example rules, to see them record and alert on real series.
// All of it twice, unchanged: scraping the command's endpoint, and scraping an
// application that embeds the tracker in its NodeSDK through PrometheusReader.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tracker } from '../../src/index.js';
import { makeCgroup, missingForCgroups, type TestCgroup } from '../support/cgroup.js';
import { itWhere } from '../support/requires.js';
import { killAll, spawnIdle, spawnNode, waitFor } from '../support/process.js';
import { requireBinaries, startPrometheus, type PrometheusServer } from '../support/prometheus.js';
import { SCRAPE_PATHS, type ScrapedTracker } from '../support/scrape-paths.js';
import { exportedSeriesNames, metricNamesIn } from './promql.js';

const grafana = fileURLToPath(new URL('../../examples/grafana/', import.meta.url));
const rulesFile = fileURLToPath(new URL('../../examples/prometheus/procmetrics.rules.yml', import.meta.url));

interface Datasource {
  type: string;
  uid: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: Datasource;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ refId: string; expr: string; datasource?: Datasource }>;
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: Datasource;
  multi?: boolean;
  includeAll?: boolean;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Variable[] };
  panels: Panel[];
}

const dashboard = JSON.parse(readFileSync(`${grafana}procmetrics.json`, 'utf8')) as Dashboard;
const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
const queries = panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, refId: target.refId, expr: target.expr })),
);
const DATASOURCE: Datasource = { type: 'prometheus', uid: '${datasource}' };

/** Grafana's substitutions, as it makes them for a Prometheus scraped every second. */
function substitute(expr: string, service: string): string {
  return expr
    .replaceAll('$service', service)
    .replaceAll('$__rate_interval', '10s')
    .replaceAll('$__interval', '2s')
    .replaceAll('$__range', '1m');
}

/** Series only a cgroup target has: a plain process has no cgroup accounting of its own. */
const readsCgroup = (expr: string): boolean => metricNamesIn(expr).some((name) => name.startsWith('procmetrics_cgroup_'));

describe('Grafana dashboard, as a file', () => {
  it('is a dashboard of the current schema with a Prometheus data source variable and a multi-value service variable', () => {
    expect(dashboard).toMatchObject({ uid: 'procmetrics', title: 'procmetrics' });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const [datasource, service] = dashboard.templating.list;
    expect(datasource).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    expect(service).toMatchObject({ name: 'service', type: 'query', datasource: DATASOURCE, multi: true, includeAll: true });
    const serviceQuery = typeof service?.query === 'string' ? service.query : service?.query.query;
    expect(serviceQuery).toBe('label_values(procmetrics_service_state, service_name)');
  });

  it('gives every panel the data source variable and at least one query, each with its own refId', () => {
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual(DATASOURCE);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
      for (const target of panel.targets ?? []) {
        expect(target.datasource, `${panel.title} ${target.refId}`).toEqual(DATASOURCE);
        expect(target.expr.trim(), `${panel.title} ${target.refId}`).not.toBe('');
      }
    }
  });

  it('lays the panels out on the 24-column grid without overlaps, with unique ids', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let column = x; column < x + w; column++) {
        for (let row = y; row < y + h; row++) {
          const key = `${column},${row}`;
          expect(cells.get(key), `${panel.title} overlaps at ${key}`).toBeUndefined();
          cells.set(key, panel.title);
        }
      }
    }
  });

  it('filters every per-service series by the service variable', () => {
    for (const { panel, expr } of queries) {
      // Each selector of a service's series, with its matchers.
      for (const [, name, matchers] of expr.matchAll(/\b((?:process|procmetrics_service|procmetrics_cgroup)_[a-z_]+)(\{[^}]*\})?/g)) {
        expect(matchers, `${panel}: ${name ?? ''}`).toContain('service_name=~"$service"');
      }
    }
  });

  it("sets the memory limit against the cgroup's own usage, which the kernel holds to it, not resident memory", () => {
    const ratios = queries.filter(({ expr }) => expr.includes('/') && expr.includes('procmetrics_cgroup_memory_limit_bytes'));
    expect(ratios.length).toBeGreaterThan(0);
    for (const { panel, expr } of ratios)
      expect(metricNamesIn(expr).sort(), panel).toEqual(['procmetrics_cgroup_memory_limit_bytes', 'procmetrics_cgroup_memory_usage_bytes']);
  });

  it('takes rates over $__rate_interval, so a window always holds enough scrapes whatever the zoom', () => {
    for (const { panel, refId, expr } of queries) {
      for (const [range] of expr.matchAll(/\[[^\]]*\]/g)) expect(range, `${panel} ${refId}`).toBe('[$__rate_interval]');
    }
  });

  it('selects only series the library exports, covering what a service and the tracker report', () => {
    const exported = exportedSeriesNames();
    const used = new Set(queries.flatMap(({ expr }) => metricNamesIn(expr)));
    for (const name of used) expect(exported.has(name), name).toBe(true);
    expect([...used]).toEqual(
      expect.arrayContaining([
        'process_cpu_time_seconds_total',
        'process_cpu_utilization_ratio',
        'process_memory_usage_bytes',
        'procmetrics_cgroup_memory_usage_bytes',
        'procmetrics_cgroup_memory_limit_bytes',
        'procmetrics_service_restarts_total',
        'procmetrics_service_health_restarts_total',
        'procmetrics_service_oom_kills_total',
        'procmetrics_service_state',
        'procmetrics_service_healthy',
        'process_unix_file_descriptor_count',
        'process_thread_count',
        'procmetrics_service_processes',
        'procmetrics_cgroup_cpu_throttled_periods_total',
        'procmetrics_cgroup_cpu_periods_total',
        'procmetrics_cgroup_cpu_throttled_time_seconds_total',
        'procmetrics_cgroup_cpu_limit',
        'procmetrics_cgroup_pressure_cpu_seconds_total',
        'procmetrics_cgroup_pressure_memory_seconds_total',
        'procmetrics_cgroup_pressure_io_seconds_total',
        'procmetrics_tracker_tick_duration_seconds_bucket',
        'procmetrics_tracker_interval_seconds',
        'procmetrics_tracker_sample_errors_total',
        'procmetrics_tracker_read_errors_total',
        'procmetrics_tracker_snapshots_dropped_total',
        'procmetrics_exporter_failures_total',
        'procmetrics_tracker_sweep_cost_seconds',
        'procmetrics_collector_open_fds',
      ]),
    );
  });

  it('comes with provisioning for the dashboard folder and a Prometheus on 127.0.0.1:9090', () => {
    const dashboards = parse(readFileSync(`${grafana}provisioning/dashboards.yaml`, 'utf8')) as {
      apiVersion: number;
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(dashboards.apiVersion).toBe(1);
    expect(dashboards.providers[0]).toMatchObject({ type: 'file', options: { path: expect.any(String) } });
    const datasources = parse(readFileSync(`${grafana}provisioning/datasources.yaml`, 'utf8')) as {
      apiVersion: number;
      datasources: Array<{ type: string; url: string }>;
    };
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://127.0.0.1:9090' });
  });
});

const BURN = fileURLToPath(new URL('../workloads/burn.mjs', import.meta.url));
const MIB = 1024 * 1024;
const MEMORY_LIMIT_BYTES = 512 * MIB;
const CPU = '/sys/fs/cgroup/cpu';
const cgroupsMissing = missingForCgroups();

describe.skipIf(!requireBinaries(['prometheus'], 'dashboard and rules on a real Prometheus')).each(SCRAPE_PATHS)(
  'dashboard and rules on a real Prometheus scraping $name',
  (path) => {
    /** A plain child process. */
    const service = 'dash';
    /** A cgroup target: a burner that wants more CPU than its quota, under a memory limit. */
    const cgService = 'cg';
    let scraped: ScrapedTracker;
    let tracker: Tracker;
    let prometheus: PrometheusServer;
    let cgroup: TestCgroup | undefined;

    beforeAll(async () => {
      // Making a cgroup needs root; without it the cgroup queries are only parsed, and the cgroup tests below say so.
      scraped = await path.start({ collectionInterval: 250 });
      tracker = scraped.tracker;
      tracker.start();
      await tracker.track(service, spawnIdle().pid);
      if (cgroupsMissing === undefined) {
        cgroup = makeCgroup();
        cgroup.set('/sys/fs/cgroup/memory', 'memory.limit_in_bytes', MEMORY_LIMIT_BYTES);
        // 20 ms of CPU per 100 ms period, for a burner that wants 50: throttled in nearly every period.
        cgroup.set(CPU, 'cpu.cfs_period_us', 100_000);
        cgroup.set(CPU, 'cpu.cfs_quota_us', 20_000);
        const burner = spawnNode(BURN, ['50', '100'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        await once(burner, 'message');
        cgroup.add(burner.pid as number);
        await tracker.track(cgService, { cgroup: cgroup.path });
      }
      prometheus = await startPrometheus({ target: new URL(scraped.url).host, ruleFiles: [rulesFile] });
      // Rates over the 10 s $__rate_interval need a few scrapes of each service.
      await prometheus.queryUntilFound(
        `count_over_time(procmetrics_service_state{service_name="${service}", procmetrics_state="running"}[10s]) >= 3`,
      );
      if (cgroup !== undefined)
        await prometheus.queryUntilFound(`count_over_time(procmetrics_cgroup_cpu_periods_total{service_name="${cgService}"}[10s]) >= 3`);
    });

    afterAll(async () => {
      // beforeAll may have failed before assigning them.
      /* eslint-disable @typescript-eslint/no-unnecessary-condition */
      await prometheus?.stop();
      await scraped?.stop();
      /* eslint-enable @typescript-eslint/no-unnecessary-condition */
      await killAll();
      await cgroup?.remove();
    });

    /** Names of the alerts, pending or firing, of one service. */
    async function alertsOf(name: string): Promise<string[]> {
      const { alerts } = await prometheus.api<{ alerts: Array<{ labels: Record<string, string> }> }>('/api/v1/alerts');
      return alerts.filter((alert) => alert.labels['service_name'] === name).map((alert) => alert.labels['alertname'] ?? '');
    }

    it('is scraped without errors, whatever format the endpoint answers in', async () => {
      const { activeTargets } = await prometheus.api<{ activeTargets: Array<{ health: string; lastError: string }> }>('/api/v1/targets');
      expect(activeTargets.map((target) => [target.health, target.lastError])).toEqual([['up', '']]);
    });

    it('offers the tracked services in the service variable', async () => {
      const values = await prometheus.api<string[]>(`/api/v1/label/service_name/values?match[]=procmetrics_service_state`);
      expect(values).toContain(service);
      if (cgroup !== undefined) expect(values).toContain(cgService);
    });

    it('returns data for every query with a service picked, and with All', async () => {
      const empty: string[] = [];
      for (const { panel, refId, expr } of queries) {
        // A pick as Grafana formats a multi-value one: the cgroup target for cgroup series, the plain child for the rest.
        const picked = readsCgroup(expr) ? cgService : service;
        for (const value of [`(${picked}|absent)`, '.+']) {
          const promql = substitute(expr, value);
          expect(promql, `${panel} ${refId}`).not.toContain('$');
          if (readsCgroup(expr) && cgroup === undefined) {
            await prometheus.query(promql); // parses; no cgroup target to give it data
            continue;
          }
          const found = await prometheus.queryUntilFound(promql, 3_000).catch(() => undefined);
          if (found === undefined) empty.push(`${panel} ${refId}: ${promql}`);
        }
      }
      expect(empty).toEqual([]);
    }, 120_000);

    itWhere(
      cgroupsMissing,
      'shows the cgroup target against its own limit and quota: the 512 MiB limit, usage under it, throttled periods',
      async () => {
        const of = (metric: string): string => `${metric}{service_name="${cgService}"}`;
        const [limit] = await prometheus.queryUntilFound(of('procmetrics_cgroup_memory_limit_bytes'));
        expect(Number(limit?.value[1])).toBe(MEMORY_LIMIT_BYTES);
        const [ofLimit] = await prometheus.queryUntilFound(
          `${of('procmetrics_cgroup_memory_usage_bytes')} / ${of('procmetrics_cgroup_memory_limit_bytes')}`,
        );
        expect(Number(ofLimit?.value[1])).toBeGreaterThan(0);
        expect(Number(ofLimit?.value[1])).toBeLessThan(1);
        // The burner wants 50 ms of every 100 ms period and may have 20.
        const [throttled] = await prometheus.queryUntilFound(
          `service:procmetrics_cgroup_cpu_throttled_periods:ratio_rate5m{service_name="${cgService}"}`,
        );
        expect(Number(throttled?.value[1])).toBeGreaterThan(0.5);
      },
    );

    it('loads the example rules, and the recording rules record the tracked services', async () => {
      const { groups } = await prometheus.api<{
        groups: Array<{ rules: Array<{ name: string; query: string; health: string; type: string }> }>;
      }>('/api/v1/rules');
      const loaded = groups.flatMap((group) => group.rules);
      expect(loaded.length).toBeGreaterThan(5);
      for (const rule of loaded) expect(rule.health, rule.name).not.toBe('err');
      for (const rule of loaded.filter((r) => r.type === 'recording')) {
        const picked = readsCgroup(rule.query) ? cgService : service;
        if (picked === cgService && cgroup === undefined) continue;
        await prometheus.queryUntilFound(`${rule.name}{service_name="${picked}"}`);
      }
    });

    itWhere(cgroupsMissing, 'raises the CPU-throttled alert, on the real series, for the cgroup over its quota', async () => {
      // It waits out its `for` as pending first; that it appears at all shows the expression matches.
      const raised = await waitFor(
        async () => (await alertsOf(cgService)).includes('ProcmetricsServiceCpuThrottled') && (await alertsOf(cgService)),
        {
          timeoutMs: 15_000,
          intervalMs: 250,
          what: 'the CPU-throttled alert of the cgroup target',
        },
      );
      expect(raised).toContain('ProcmetricsServiceCpuThrottled');
      // Throttled, not down nor unhealthy: the alert follows the quota, not the state.
      expect(raised).not.toContain('ProcmetricsServiceDown');
      expect(raised).not.toContain('ProcmetricsServiceUnhealthy');
    });

    it('raises the service-down and unhealthy alerts, on the real series, when the service fails', async () => {
      tracker.updateState(service, 'failed', 'crashed');
      // Both wait out their `for` as pending first; that they appear at all shows the expressions match.
      const raised = await waitFor(
        async () => {
          const names = await alertsOf(service);
          return names.includes('ProcmetricsServiceDown') && names.includes('ProcmetricsServiceUnhealthy') && names;
        },
        { timeoutMs: 15_000, intervalMs: 250, what: 'the alerts of a failed service' },
      );
      expect(raised.sort()).toEqual(['ProcmetricsServiceDown', 'ProcmetricsServiceUnhealthy']);
    });
  },
);
