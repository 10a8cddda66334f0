// Every metric of the table is in a scrape for every kind of target, or the
// README says which kinds may lack it: the table is a promise to whoever
// writes a dashboard against it.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect } from 'vitest';
import { METRICS } from '../../src/metrics/metric-table.js';
import { prometheusName } from '../../src/metrics/prometheus-names.js';
import { makeCgroup, missingForCgroups, type TestCgroup } from '../support/cgroup.js';
import { itWhere } from '../support/requires.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { fetchMetrics, freePort, killAllCli, startCli } from './cli.js';

type Kind = 'pid' | 'tree' | 'cgroup' | 'run';
const KINDS: readonly Kind[] = ['pid', 'tree', 'cgroup', 'run'];

/** The README's "may be absent for" table: metric name -> the kinds that may lack it. */
function mayLack(): Map<string, Set<string>> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('| metric | may be absent for | why |');
  if (start < 0) throw new Error('README.md: the "may be absent for" table is missing');
  const rows = readme.slice(start).split('\n').slice(2);
  const table = new Map<string, Set<string>>();
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const [, metric = '', kinds = ''] = row.split('|').map((cell) => cell.trim());
    table.set(metric.replaceAll('`', ''), new Set([...kinds.matchAll(/`([a-z]+)`/g)].map((m) => m[1] ?? '')));
  }
  return table;
}

/** The metrics of the table missing from a Prometheus scrape (a histogram counts by its _bucket series). */
function missingFrom(scrape: string): string[] {
  const names = new Set(scrape.split('\n').flatMap((line) => (line.startsWith('#') ? [] : (/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line) ?? []))));
  return METRICS.filter((row) => {
    const name = prometheusName(row.name, row.unit, row.kind);
    return !names.has(name) && !names.has(`${name}_bucket`);
  }).map((row) => row.name);
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  await killAllCli();
  await killAll();
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('the metric table, per target kind', () => {
  // Making a cgroup in every hierarchy takes root; without it this cannot run, and CI must say so.
  itWhere(
    missingForCgroups(),
    'has every metric in a scrape of each kind, or the README lists it as one the kind may lack',
    async () => {
      const lacking = mayLack();
      const idle = spawnIdle();
      const inCgroup = spawnIdle();
      const cgroup: TestCgroup = makeCgroup();
      cleanup.push(() => cgroup.remove());
      cgroup.add(inCgroup.pid);

      const args: Record<Kind, string[]> = {
        pid: ['watch', '--single-process', '-s', `svc=${idle.pid}`],
        tree: ['watch', '-s', `svc=${idle.pid}`],
        cgroup: ['watch', '-s', `svc=cgroup:${cgroup.path}`],
        run: ['run', '-n', 'svc'],
      };
      const missing = await Promise.all(
        KINDS.map(async (kind) => {
          const port = await freePort();
          const command = kind === 'run' ? ['--', 'sleep', '100000'] : [];
          const cli = startCli([...args[kind], '-i', '200ms', '--prometheus', String(port), ...command]);
          let last: string[] = [];
          // Settled once two scrapes in a row lack the same metrics (rates need a second sample).
          await waitFor(
            async () => {
              const scrape = await fetchMetrics(port);
              if (!scrape.includes('process_uptime_seconds{')) return false;
              const now = missingFrom(scrape);
              const settled = now.join() === last.join();
              last = now;
              return settled;
            },
            { what: `a scrape of the ${kind} target; stderr: ${cli.stderr()}`, intervalMs: 400 },
          );
          return { kind, unlisted: last.filter((name) => lacking.get(name)?.has(kind) !== true) };
        }),
      );
      expect(missing).toEqual(KINDS.map((kind) => ({ kind, unlisted: [] })));
    },
    60_000,
  );
});
