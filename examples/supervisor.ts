// A small process supervisor that publishes its services' metrics through OpenTelemetry.
//
//   npx tsx examples/supervisor.ts
//   curl -s http://127.0.0.1:9464/metrics | grep -E '^(process|procmetrics)_'
//
// The endpoint's port and interface come from OTEL_EXPORTER_PROMETHEUS_PORT and
// OTEL_EXPORTER_PROMETHEUS_HOST (defaults 9464 and 127.0.0.1).
// Three services: `web` burns a little CPU, `worker` holds memory and writes a
// file, `flaky` crashes every few seconds and is restarted (watch
// procmetrics_service_restarts_total and procmetrics_service_pid change). Set
// OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://127.0.0.1:4317, see
// examples/otel-collector.yaml) to push OTLP as well, or OTEL_METRICS_EXPORTER
// to choose the exporters yourself. Ctrl-C stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Tracker } from '../src/index.js';
import { startTelemetry, type ExporterName } from '../src/otel/index.js';

interface ServiceSpec {
  name: string;
  /** JavaScript run by `node -e`. */
  script: string;
  /** Time the service needs before it is ready, ms. */
  readyAfterMs: number;
}

const SERVICES: readonly ServiceSpec[] = [
  {
    name: 'web',
    readyAfterMs: 1000,
    script: 'setInterval(() => { const end = Date.now() + 20; while (Date.now() < end); }, 100);',
  },
  {
    name: 'worker',
    readyAfterMs: 500,
    script: `
      const fs = require('node:fs'), os = require('node:os'), path = require('node:path');
      const held = Buffer.alloc(64 * 1024 * 1024, 1);
      const file = path.join(os.tmpdir(), 'procmetrics-worker-' + process.pid);
      setInterval(() => fs.writeFileSync(file, held.subarray(0, 1024 * 1024)), 1000);
      process.on('SIGTERM', () => { fs.rmSync(file, { force: true }); process.exit(0); });`,
  },
  {
    name: 'flaky',
    readyAfterMs: 500,
    script: 'setTimeout(() => { console.error("flaky: giving up"); process.exit(3); }, 4000 + Math.random() * 4000);',
  },
];

const RESTART_DELAY_MS = 2000;

/** Prometheus always; OTLP too when an endpoint is configured. OTEL_METRICS_EXPORTER overrides both. */
function exporters(): ExporterName[] | undefined {
  if (process.env['OTEL_METRICS_EXPORTER'] !== undefined) return undefined;
  const otlp = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? process.env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'];
  return otlp ? ['prometheus', 'otlp'] : ['prometheus'];
}

const telemetry = await startTelemetry({ exporters: exporters(), serviceName: 'example-supervisor' });
const tracker = new Tracker(undefined, { meterProvider: telemetry.meterProvider, collectionInterval: 1000 });
tracker.start();

const children = new Map<string, ChildProcess>();
let stopping = false;
/** The status line's timer; set once every service has started (Ctrl-C may come before). */
let status: NodeJS.Timeout | undefined;

async function run(spec: ServiceSpec): Promise<void> {
  if (stopping) return; // Ctrl-C while the services were still being started
  const child = spawn(process.execPath, ['-e', spec.script], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (child.pid === undefined) throw new Error(`could not start ${spec.name}`);
  children.set(spec.name, child);
  child.once('exit', (code, signal) => void onExit(spec, child, code, signal));

  try {
    await trackWithRetry(spec.name, child.pid); // a known name again counts as a restart
  } catch (error) {
    console.error(`${spec.name}: cannot track pid ${child.pid}: ${String(error)}`);
    child.kill('SIGKILL'); // onExit restarts it
    return;
  }
  tracker.updateState(spec.name, 'starting');
  tracker.updateHealth(spec.name, false);
  await sleep(spec.readyAfterMs); // stands in for a readiness probe
  if (child.exitCode === null && child.signalCode === null) {
    tracker.updateState(spec.name, 'running');
    tracker.updateHealth(spec.name, true);
  }
}

/** The first sample of a new process can time out on a busy machine (or while a tick is sampling): try again. */
async function trackWithRetry(name: string, pid: number, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await tracker.track(name, pid);
      return;
    } catch (error) {
      const timedOut = error instanceof Error && 'code' in error && error.code === 'ETIMEDOUT';
      if (!timedOut || attempt >= attempts) throw error;
      await sleep(100 * attempt);
    }
  }
}

async function onExit(spec: ServiceSpec, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
  if (children.get(spec.name) !== child) return;
  if (stopping) {
    tracker.updateState(spec.name, 'stopped');
    return;
  }
  tracker.updateState(spec.name, 'failed', `exited with ${signal ?? `code ${String(code)}`}`);
  tracker.updateHealth(spec.name, false);
  console.log(`${spec.name}: failed (${signal ?? `code ${String(code)}`}), restarting in ${RESTART_DELAY_MS} ms`);
  await sleep(RESTART_DELAY_MS);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- shutdown() may set it during the sleep
  if (!stopping) await run(spec);
}

async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('stopping services...');
  await Promise.all(
    [...children].map(async ([name, child]) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      tracker.updateState(name, 'stopping');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }),
  );
  clearInterval(status); // the last thing keeping the process alive
  await tracker.close();
  await telemetry.shutdown();
}

process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());

// Last resort: never leave children behind, even when the supervisor itself crashes.
process.once('exit', () => {
  for (const child of children.values()) child.kill('SIGKILL');
});

for (const spec of SERVICES) await run(spec);
console.log(`metrics: ${telemetry.prometheusUrl ?? '(Prometheus exporter off)'}`);

// A status line every 5 s, from the same snapshots the exporters read.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- shutdown() may have set it during the starts
if (!stopping) {
  status = setInterval(() => {
    const line = tracker
      .getAll()
      .map(
        (m) =>
          `${m.serviceName}[${m.pid}] ${m.state}${m.healthy ? '' : ' unhealthy'} cpu ${m.cpu.usagePercent.toFixed(1)}% rss ${(m.memory.rss / 2 ** 20).toFixed(0)} MiB restarts ${m.restartCount}`,
      )
      .join(' | ');
    console.log(line);
  }, 5000);
}
