// The shipped alerts against the real thing: the procmetrics command supervising
// and watching real processes, scraped and evaluated by a real Prometheus.
// Incidents take minutes; here they are compressed by TIME_FACTOR: every `for`,
// `keep_firing_for` and range duration of the rules is divided by it (nothing
// else of an expression changes), scrapes and evaluations run every second,
// and the scenario's own periods (the health flip, the run before a crash) are
// divided too. The restart backoff of `run` cannot be shortened, so the crash
// loop runs on the real one (0.5 s doubling up to 30 s): a harder case for the
// scaled rules than the real loop is for the real rules.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killAllCli, startCli, waitForSnapshot, type CliProcess } from '../cli/cli.js';
import { requireBinaries, startPrometheus, type PrometheusServer, type RangeSeries } from '../support/prometheus.js';
import { killAll, killAndWait, spawnChild, waitFor } from '../support/process.js';
import { missingForCgroups } from '../support/cgroup.js';
import { itWhere } from '../support/requires.js';

/** One minute of the rules is six seconds here. */
const TIME_FACTOR = 10;
/** How long the scenario runs: the "10 minutes" of a crash loop, compressed, and a margin. */
const SCENARIO_MS = 75_000;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Prometheus duration divided by the factor, in ms (`1m` -> `6000ms`). */
function scaled(duration: string): string {
  const match = DURATION.exec(duration);
  if (match === null) throw new Error(`not a duration: ${duration}`);
  return `${Math.round((Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? NaN)) / TIME_FACTOR)}ms`;
}

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
}

/** The shipped rules with their durations scaled; the expressions otherwise untouched. */
function scaledRules(text: string): string {
  const file = parse(text) as { groups: Array<{ rules: Rule[] }> };
  for (const rule of file.groups.flatMap((group) => group.rules)) {
    if (rule.for !== undefined) rule.for = scaled(rule.for);
    if (rule.keep_firing_for !== undefined) rule.keep_firing_for = scaled(rule.keep_firing_for);
    rule.expr = rule.expr.replace(/\[(\d+(?:\.\d+)?(?:ms|s|m|h))\]/g, (_, range: string) => `[${scaled(range)}]`);
  }
  return stringify(file);
}

/** Firing episodes per `alertname/service_name`: runs of consecutive points of ALERTS{alertstate="firing"}. */
function episodes(series: RangeSeries[], stepS: number): Map<string, { count: number; lastAt: number }> {
  const found = new Map<string, { count: number; lastAt: number }>();
  for (const { metric, values } of series) {
    let count = 0;
    let previous = -Infinity;
    for (const [t] of values) {
      if (t - previous > stepS) count += 1;
      previous = t;
    }
    found.set(`${metric['alertname'] ?? ''}/${metric['service_name'] ?? ''}`, { count, lastAt: previous });
  }
  return found;
}

const rulesFile = fileURLToPath(new URL('../../examples/prometheus/procmetrics.rules.yml', import.meta.url));

describe.skipIf(!requireBinaries(['prometheus'], 'alert scenarios against a real Prometheus'))(
  'alert scenarios against a real Prometheus',
  () => {
    let dir = '';
    let prometheus: PrometheusServer | undefined;
    let crashLoop: CliProcess;
    let flipping: CliProcess;
    let watching: CliProcess;
    let oomy: CliProcess | undefined;
    let sick: CliProcess;
    const cgroupsMissing = missingForCgroups();
    let startS = 0;
    let endS = 0;
    let firing = new Map<string, { count: number; lastAt: number }>();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'procmetrics-alerts-'));
      writeFileSync(join(dir, 'procmetrics.rules.yml'), scaledRules(readFileSync(rulesFile, 'utf8')));
      // The alert a user writes first, on a bare gauge: it must not care about health.
      writeFileSync(
        join(dir, 'user.rules.yml'),
        stringify({
          groups: [
            {
              name: 'user',
              rules: ['web', 'labelled'].map((service) => ({
                alert: 'MemoryAbove1MB',
                expr: `process_memory_usage_bytes{service_name="${service}"} > 1000000`,
                for: scaled('1m'),
              })),
            },
          ],
        }),
      );
      const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
      const endpoint = (i: number): string[] => ['--prometheus', `127.0.0.1:${String(ports[i])}`, '--json', '-i', '500ms'];

      // A crash loop: exit 3 after 0.3 s (3 s compressed), restarted on failure with the real backoff.
      crashLoop = startCli([
        'run',
        '--name',
        'crashy',
        '--restart',
        'on-failure',
        ...endpoint(0),
        '--',
        process.execPath,
        '-e',
        'setTimeout(() => process.exit(3), 300)',
      ]);
      // A healthy service whose health check alternates every 3 s (30 s compressed); the same under --state-labels.
      const flip = (name: string, port: number, extra: string[]): CliProcess =>
        startCli([
          'run',
          '--name',
          name,
          '--health-cmd',
          `sh -c 'test $(( $(date +%s) / 3 % 2 )) -eq 0'`,
          '--health-interval',
          '500ms',
          ...endpoint(port),
          ...extra,
          '--',
          process.execPath,
          '-e',
          'setInterval(() => {}, 1000)',
        ]);
      flipping = flip('web', 1, []);
      flip('labelled', 3, ['--state-labels']);
      // OOM-killed once under a 64 MiB limit, when told to (once Prometheus has scraped its counter at 0); then it runs on.
      const marker = join(dir, 'oomed');
      const go = join(dir, 'go');
      const allocate = 'const held = []; for (let i = 0; i < 200; i++) held.push(Buffer.alloc(1 << 20, 1));';
      if (cgroupsMissing === undefined) {
        oomy = startCli([
          'run',
          '--name',
          'oomy',
          '--memory-max',
          '64M',
          '--restart',
          'on-failure',
          ...endpoint(4),
          '--',
          'sh',
          '-c',
          `if [ -e ${marker} ]; then exec sleep 1000; fi; touch ${marker}; while [ ! -e ${go} ]; do sleep 0.2; done; exec ${process.execPath} -e '${allocate}'`,
        ]);
      }
      // Health checks that fail 3 times in a row once, when told to (the same way), restarting it; they pass otherwise.
      const calls = join(dir, 'calls');
      const unwell = join(dir, 'unwell');
      sick = startCli([
        'run',
        '--name',
        'sick',
        '--health-cmd',
        `sh -c '[ -e ${unwell} ] || exit 0; n=$(( $(cat ${calls} 2>/dev/null || echo 0) + 1 )); echo $n > ${calls}; [ $n -lt 3 ] || rm ${unwell}; exit 1'`,
        '--health-interval',
        '500ms',
        '--health-failures',
        '3',
        ...endpoint(5),
        '--',
        'sleep',
        '1000',
      ]);
      // A watched process, killed once it is followed.
      const seconds = `${100_000 + Math.floor(Math.random() * 100_000)}.5`;
      const sleeper = spawnChild('sleep', [seconds]);
      watching = startCli(['watch', '-s', `gone=match:^sleep ${seconds.replace('.', '\\.')}$`, ...endpoint(2)]);

      prometheus = await startPrometheus({
        target: ports.filter((_, i) => i !== 4 || oomy !== undefined).map((port) => `127.0.0.1:${port}`),
        ruleFiles: [join(dir, 'procmetrics.rules.yml'), join(dir, 'user.rules.yml')],
      });
      startS = Math.floor(Date.now() / 1000);
      // Both counters scraped at 0 first: an OOM kill or a health restart is then an increase, as in a real deployment.
      for (const service of [...(oomy ? ['oomy'] : []), 'sick']) {
        await waitFor(
          async () => (await prometheus!.query(`procmetrics_service_health_restarts_total{service_name="${service}"} == 0`)).length > 0,
          {
            what: `${service}'s counters scraped`,
            timeoutMs: 30_000,
            intervalMs: 250,
          },
        );
      }
      writeFileSync(go, '');
      writeFileSync(unwell, '');
      await waitForSnapshot(watching, (s) => s.state === 'running', 'the watched process followed');
      await sleep(10_000);
      await killAndWait(sleeper);
      await sleep(SCENARIO_MS - 10_000);
      endS = Math.floor(Date.now() / 1000);
      firing = episodes(await prometheus.queryRange('ALERTS{alertstate="firing"}', startS, endS, 1), 1);
    }, SCENARIO_MS + 60_000);

    afterAll(async () => {
      await prometheus?.stop();
      await killAllCli();
      await killAll();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a crash loop on the real backoff fires ServiceDown and CrashLooping once each, firing through the loop', async () => {
      const [restarts] = await prometheus!.query('procmetrics_service_restarts_total{service_name="crashy"}');
      expect(Number(restarts?.value[1]), 'the loop restarted').toBeGreaterThanOrEqual(5);
      expect(firing.get('ProcmetricsServiceDown/crashy')?.count, JSON.stringify([...firing])).toBe(1);
      expect(firing.get('ProcmetricsServiceCrashLooping/crashy')?.count, JSON.stringify([...firing])).toBe(1);
      expect(firing.get('ProcmetricsServiceDown/crashy')?.lastAt).toBeGreaterThanOrEqual(endS - 1);
    });

    it('a watched process that is killed fires ServiceDown once and keeps it firing', async () => {
      await waitForSnapshot(watching, (s) => s.state === 'failed', 'the watched target failed');
      expect(firing.get('ProcmetricsServiceDown/gone')?.count, JSON.stringify([...firing])).toBe(1);
      expect(firing.get('ProcmetricsServiceDown/gone')?.lastAt).toBeGreaterThanOrEqual(endS - 1);
    });

    itWhere(cgroupsMissing, 'an OOM kill under run --memory-max fires OOMKilled once, and nothing else', async () => {
      expect(oomy?.snapshots().some((s) => s.lastError === 'killed by the OOM killer (memory limit 64.0 MiB)')).toBe(true);
      const [kills] = await prometheus!.query('procmetrics_service_oom_kills_total{service_name="oomy"}');
      expect(Number(kills?.value[1])).toBe(1);
      expect(firing.get('ProcmetricsServiceOOMKilled/oomy')?.count, JSON.stringify([...firing])).toBe(1);
      expect([...firing.keys()].filter((key) => key.endsWith('/oomy') && key !== 'ProcmetricsServiceOOMKilled/oomy')).toEqual([]);
    });

    it('a restart for failing health checks fires HealthRestarted once, and nothing else', async () => {
      expect(sick.snapshots().some((s) => s.healthRestarts === 1 && s.state === 'running')).toBe(true);
      const [restarts] = await prometheus!.query('procmetrics_service_health_restarts_total{service_name="sick"}');
      expect(Number(restarts?.value[1])).toBe(1);
      expect(firing.get('ProcmetricsServiceHealthRestarted/sick')?.count, JSON.stringify([...firing])).toBe(1);
      expect(
        [...firing.keys()].filter((key) => key.endsWith('/sick') && key.startsWith('Procmetrics') && !key.includes('HealthRestarted')),
      ).toEqual([]);
    });

    it('a healthy service flipping health fires none of the shipped alerts', async () => {
      const [flips] = await prometheus!.query(`changes(procmetrics_service_healthy{service_name="web"}[${SCENARIO_MS / 1000}s])`);
      expect(Number(flips?.value[1]), 'health flipped').toBeGreaterThanOrEqual(6);
      const shipped = [...firing.keys()].filter((key) => key.endsWith('/web') && key.startsWith('Procmetrics'));
      expect(shipped).toEqual([]);
    });

    it('a hand-written for: on a bare memory gauge fires while health flips faster than its for:, and stays firing', () => {
      expect(firing.get('MemoryAbove1MB/web')?.count, JSON.stringify([...firing])).toBe(1);
      expect(firing.get('MemoryAbove1MB/web')?.lastAt).toBeGreaterThanOrEqual(endS - 1);
      expect(flipping.snapshots().some((s) => s.serviceName === 'web' && !s.healthy && s.state === 'running')).toBe(true);
      expect(crashLoop.snapshots().some((s) => s.state === 'failed' && s.lastError === 'exited with code 3')).toBe(true);
    });

    it("the README's recipes for joining state and health return data (memory ones for the flipping service)", async () => {
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const block = /```promql\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
      const recipes = block.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
      expect(recipes.length).toBeGreaterThanOrEqual(4);
      for (const recipe of recipes) {
        const series = await prometheus!.queryRange(
          recipe.replace(/process_memory_usage_bytes/g, '$&{service_name="web"}'),
          startS,
          endS,
          1,
        );
        expect(series.length, recipe).toBeGreaterThan(0);
      }
    });

    it('under --state-labels the same rule never fires: each health flip starts a new memory series, and for: with it', async () => {
      const labelled = await prometheus!.query('count(count_over_time(process_memory_usage_bytes{service_name="labelled"}[1m]))');
      expect(Number(labelled[0]?.value[1]), 'memory series of the labelled service').toBeGreaterThanOrEqual(2);
      expect(firing.get('MemoryAbove1MB/labelled')).toBeUndefined();
    });
  },
);
