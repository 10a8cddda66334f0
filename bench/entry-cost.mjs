// What each entry point costs an application: what `npm install` of the packed
// tarball puts in node_modules (packages, bytes, whether gRPC and protobuf are
// among them), then what importing each entry loads (modules), how long the
// import takes and the heap it leaves, each measured in fresh child processes.
//
//   npm run bench:entry                        (packs this checkout)
//   TARBALL=/path/to/procmetrics-0.1.0.tgz ROUNDS=9 npm run bench:entry
//
// A tarball packed from an older commit gives the "before" figures.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const REPO = fileURLToPath(new URL('..', import.meta.url));

function sh(command, args, cwd, extra = {}) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, ...extra });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

function bytesUnder(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += bytesUnder(path);
    else total += lstatSync(path).size;
  }
  return total;
}

// One way into the package each; the last one starts an OTLP push over gRPC, which must load it.
const ENTRIES = [
  ['procmetrics (Tracker)', `const { Tracker } = await import('procmetrics'); void Tracker;`],
  ['procmetrics/otel', `const { startTelemetry } = await import('procmetrics/otel'); void startTelemetry;`],
  [
    'procmetrics/otel + OTLP gRPC started',
    `const { startTelemetry } = await import('procmetrics/otel');
     const t = await startTelemetry({ exporters: ['otlp'], otlp: { url: 'http://127.0.0.1:1' }, diagLogger: null }).catch((e) => e);
     if (t.shutdown) await t.shutdown(); else globalThis.missing = t.name;`,
  ],
];

// Appends the URL of every module resolved to the file named by TRACE_TO.
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.TRACE_TO, result.url + '\\\\n');
  return result;
}\`));`)}`;

function measure(project, code) {
  const timed = `
    gc(); const before = process.memoryUsage().heapUsed; const t0 = performance.now();
    ${code}
    const ms = performance.now() - t0; gc(); gc();
    console.log(JSON.stringify({ ms, heap: process.memoryUsage().heapUsed - before, missing: globalThis.missing }));`;
  const runs = [];
  for (let i = 0; i < ROUNDS; i++) {
    runs.push(JSON.parse(sh(process.execPath, ['--expose-gc', '--input-type=module', '-e', timed], project)));
  }
  const trace = join(project, 'trace.txt');
  writeFileSync(trace, '');
  // CommonJS modules that ESM code imports, and what they require, are in require.cache; ESM ones in the trace.
  const listCjs = `${timed}
    const { createRequire } = await import('node:module');
    for (const path of Object.keys(createRequire(import.meta.url).cache)) console.log(path);`;
  const cjs = sh(process.execPath, ['--expose-gc', '--import', HOOK, '--input-type=module', '-e', listCjs], project, {
    env: { ...process.env, TRACE_TO: trace },
  });
  const esm = readFileSync(trace, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file:'))
    .map((u) => fileURLToPath(u));
  const urls = [
    ...new Set([
      ...esm,
      ...cjs
        .split('\n')
        .slice(1)
        .filter((p) => p.startsWith('/')),
    ]),
  ];
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    ms: median(runs.map((r) => r.ms)),
    heapMiB: median(runs.map((r) => r.heap)) / 2 ** 20,
    modules: urls.length,
    grpcOrProtobuf: urls.filter((u) => /grpc|protobuf/.test(u)).length,
    missing: runs[0].missing,
  };
}

const work = mkdtempSync(join(tmpdir(), 'procmetrics-entry-'));
try {
  let tarball = process.env.TARBALL;
  if (!tarball) {
    const report = sh('npm', ['pack', '--json', '--pack-destination', work], REPO);
    tarball = join(work, JSON.parse(report.slice(report.indexOf('[\n')))[0].filename);
  }
  const project = join(work, 'app');
  sh('mkdir', ['-p', project], work);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project);
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  const packages = Object.keys(lock.packages).filter((p) => p !== '');
  const has = (name) => packages.some((p) => p.endsWith(`node_modules/${name}`));
  console.log(`Node ${process.versions.node}, ${tarball.split('/').at(-1)} installed alone (npm install of the tarball):`);
  console.log(
    `  ${packages.length} packages, ${(bytesUnder(join(project, 'node_modules')) / 2 ** 20).toFixed(1)} MiB in node_modules; ` +
      `@grpc/grpc-js ${has('@grpc/grpc-js') ? 'yes' : 'no'}, protobufjs ${has('protobufjs') ? 'yes' : 'no'}`,
  );
  console.log(`\n| entry | modules loaded | of them gRPC/protobuf | import ms (median of ${ROUNDS}) | heap after, MiB |`);
  console.log('|---|---|---|---|---|');
  for (const [name, code] of ENTRIES) {
    const m = measure(project, code);
    const note = m.missing ? ` (${m.missing})` : '';
    console.log(`| ${name}${note} | ${m.modules} | ${m.grpcOrProtobuf} | ${m.ms.toFixed(1)} | ${m.heapMiB.toFixed(2)} |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
