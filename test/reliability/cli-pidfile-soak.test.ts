// The real `procmetrics watch` following many pid-file services that a driver
// restarts at random times, on a loaded machine where another process keeps
// writing /proc/sys/kernel/ns_last_pid, so that new processes often get the pid
// their predecessor had. Every restart is counted exactly once, and every
// service's series are in every scrape.
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { fetchMetrics, freePort, killAllCli, startCli, type CliProcess } from '../cli/cli.js';
import { killAll, killAndWait, spawnChild, spawnIdle, spawnNode, waitFor } from '../support/process.js';
import { describeWhere, missingForPidSteering, NS_LAST_PID } from '../support/requires.js';
import { report, seeded, size } from './core-support.js';

const SERVICES = size(16, 200);
const DURATION_MS = size(40_000, 600_000);
const INTERVAL_MS = 500;
/** Each process lives this long before the driver restarts it: far longer than two intervals. */
const LIFETIME_MS = { min: 6 * INTERVAL_MS, max: size(16, 40) * INTERVAL_MS };
const BURNERS = 2;
const BURN = fileURLToPath(new URL('../workloads/burn.mjs', import.meta.url));

/** Series every service has in every scrape, whatever its state. */
const ALWAYS = ['procmetrics_service_restarts_total', 'procmetrics_service_healthy', 'procmetrics_service_state'];

let dir = '';
afterEach(async () => {
  await killAllCli();
  await killAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Another writer of ns_last_pid: points it just below the pid of a random service, over and over. */
const PID_STEERER = `
const { readdirSync, readFileSync, writeFileSync } = require('node:fs');
const dir = process.argv[1];
setInterval(() => {
  try {
    const files = readdirSync(dir);
    const pid = Number(readFileSync(dir + '/' + files[Math.floor(Math.random() * files.length)], 'utf8'));
    if (pid > 1) writeFileSync('${NS_LAST_PID}', String(pid - 1));
  } catch {}
}, 20);
process.on('disconnect', () => process.exit(0));
`;

interface Service {
  name: string;
  file: string;
  process: ChildProcess & { pid: number };
  restarts: number;
  history: number[];
  reusedPids: number;
}

/** Series of `metric` per service_name in one exposition. */
function seriesByService(text: string, metric: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const name = /service_name="([^"]*)"/.exec(line)?.[1];
    if (name === undefined) continue;
    found.set(name, [...(found.get(name) ?? []), line]);
  }
  return found;
}

function restartsIn(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [name, lines] of seriesByService(text, 'procmetrics_service_restarts_total')) {
    counts.set(name, Number((lines[0] as string).split(' ').at(-1)));
  }
  return counts;
}

function latestByService(cli: CliProcess) {
  const latest = new Map<string, { pid: number; restartCount: number; state: string }>();
  for (const snapshot of cli.snapshots()) latest.set(snapshot.serviceName, snapshot);
  return latest;
}

describeWhere(missingForPidSteering(), `pid file soak: ${SERVICES} services for ${DURATION_MS / 1000} s under load, pids reused`, () => {
  it(
    'counts every restart exactly once and never loses a series',
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'procmetrics-soak-'));
      const random = seeded(20);
      const services: Service[] = [];
      for (let i = 0; i < SERVICES; i++) {
        const name = `svc-${i}`;
        const file = join(dir, `${name}.pid`);
        const child = spawnIdle();
        writeFileSync(file, `${child.pid}\n`);
        services.push({ name, file, process: child, restarts: 0, history: [child.pid], reusedPids: 0 });
      }
      const port = await freePort();
      const args = ['watch', '-i', `${INTERVAL_MS}ms`, '--json', '--prometheus', `127.0.0.1:${port}`];
      for (const service of services) args.push('-s', `${service.name}=pidfile:${service.file}`);
      const cli = startCli(args);
      await waitFor(() => latestByService(cli).size === SERVICES && [...latestByService(cli).values()].every((s) => s.pid > 0), {
        timeoutMs: 60_000,
        what: `all ${SERVICES} services running; stderr: ${cli.stderr()}`,
      });

      for (let i = 0; i < BURNERS; i++) spawnNode(BURN, ['90'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      spawnChild(process.execPath, ['-e', PID_STEERER, dir], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });

      const end = Date.now() + DURATION_MS;
      let scrapes = 0;
      let failedScrapes = 0;
      const missing: string[] = [];
      const decreased: string[] = [];
      let lastRestarts = new Map<string, number>();
      const scraper = (async () => {
        while (Date.now() < end) {
          await sleep(INTERVAL_MS / 2);
          let text: string;
          try {
            text = await fetchMetrics(port);
          } catch {
            failedScrapes += 1;
            continue;
          }
          scrapes += 1;
          for (const metric of ALWAYS) {
            const present = seriesByService(text, metric);
            for (const { name } of services) if (!present.has(name)) missing.push(`scrape ${scrapes}: ${metric} of ${name}`);
          }
          const restarts = restartsIn(text);
          for (const [name, count] of restarts) {
            const before = lastRestarts.get(name) ?? 0;
            if (count < before) decreased.push(`scrape ${scrapes}: ${name} ${before} -> ${count}`);
          }
          lastRestarts = restarts;
        }
      })();

      let newFirst = 0;
      let killedFirst = 0;
      const drive = async (service: Service): Promise<void> => {
        for (;;) {
          const lifetime = LIFETIME_MS.min + random() * (LIFETIME_MS.max - LIFETIME_MS.min);
          if (Date.now() + lifetime > end) return;
          await sleep(lifetime);
          const old = service.process;
          let next: ChildProcess & { pid: number };
          if (random() < 0.5) {
            // The new process is up and named before the old one goes.
            next = spawnIdle();
            writeFileSync(service.file, `${next.pid}\n`);
            await sleep(random() * INTERVAL_MS * 2);
            await killAndWait(old);
            newFirst += 1;
          } else {
            // The old one is gone first; the new one is often handed its pid.
            await killAndWait(old);
            await sleep(random() * INTERVAL_MS * 2);
            writeFileSync(NS_LAST_PID, String(old.pid - 1));
            next = spawnIdle();
            writeFileSync(service.file, `${next.pid}\n`);
            killedFirst += 1;
          }
          if (next.pid === old.pid) service.reusedPids += 1;
          service.process = next;
          service.history.push(next.pid);
          service.restarts += 1;
        }
      };
      await Promise.all(services.map(drive));
      await scraper;

      // Settled: every service on its latest process (or the comparison below says how far off it is).
      const settled = await waitFor(
        () => {
          const latest = latestByService(cli);
          return services.every((s) => latest.get(s.name)?.pid === s.process.pid) && latest;
        },
        { timeoutMs: 30_000, what: 'every service on its latest process' },
      ).catch(() => latestByService(cli));
      const exposed = restartsIn(await fetchMetrics(port));
      const made = services.map((s) => [s.name, s.restarts]);
      const counted = services.map((s) => [s.name, settled.get(s.name)?.restartCount]);
      const scraped = services.map((s) => [s.name, exposed.get(s.name)]);
      const undercounted = services.filter((s) => (settled.get(s.name)?.restartCount ?? 0) < s.restarts).length;
      const overcounted = services.filter((s) => (settled.get(s.name)?.restartCount ?? 0) > s.restarts).length;
      // For a service that is off: the pids the driver gave it, and what was printed for it.
      const mismatches = services
        .filter((s) => settled.get(s.name)?.restartCount !== s.restarts)
        .slice(0, 5)
        .map((s) => {
          const printed = cli
            .snapshots()
            .filter((x) => x.serviceName === s.name)
            .map((x) => `${x.pid}/${x.state}/${x.restartCount}`);
          return `${s.name}: made ${s.history.join(',')}; printed ${[...new Set(printed)].join(' ')}`;
        });
      report('pidfile-soak', {
        services: SERVICES,
        durationMs: DURATION_MS,
        intervalMs: INTERVAL_MS,
        restarts: services.reduce((sum, s) => sum + s.restarts, 0),
        newFirst,
        killedFirst,
        reusedPids: services.reduce((sum, s) => sum + s.reusedPids, 0),
        undercounted,
        overcounted,
        scrapes,
        failedScrapes,
        missingSeries: missing.length,
        decreased: decreased.length,
        stoppedSnapshots: cli.snapshots().filter((s) => s.state !== 'running').length,
        stderr: cli.stderr().slice(0, 500),
        mismatches,
      });
      expect(missing.slice(0, 10)).toEqual([]);
      expect(decreased.slice(0, 10)).toEqual([]);
      expect(failedScrapes).toBe(0);
      expect(counted).toEqual(made);
      expect(scraped).toEqual(made);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
    },
    DURATION_MS + 180_000,
  );
});
