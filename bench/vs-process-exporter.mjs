// procmetrics beside Debian's prometheus-process-exporter, in one run, on the same
// real processes: N idle `sleep`s, each one service of ours and one group of theirs.
// Both exporters run as the user would run them (our built CLI with a config file;
// process-exporter with a YAML config), both are scraped every 5 s as a Prometheus
// would, and for a fixed window we read from /proc what each exporter process used:
// CPU seconds, resident memory now and at its peak. Two of the processes burn about
// a second of CPU before they turn into `sleep`s, so the CPU and memory each
// exporter reports for them can be held against /proc.
//
//   npm run bench:peer                          (builds dist/ first)
//   SIZES=200,2000 WINDOW_S=30 SHAPES=trees,single npm run bench:peer
//   MODE=discovery SIZES=10000 GROUPS=200 npm run bench:peer
//
// SHAPES: `trees` (each service a process with its descendants: our default;
// process-exporter's default `-children=true`) and `single` (ours with
// `--single-process`; process-exporter with `-children=false`). Each shape runs
// on its own set of processes, with three exporters side by side: ours, and
// process-exporter twice, on its defaults and lean (`-threads=false
// -gather-smaps=false`). Ours runs as the user runs it, with `--json` to a pipe
// this script reads (lines per service, and the snapshots the tracker says it
// dropped for the output, from its own counter) and
// bench/block-probe.mjs preloaded (`node --import`): its longest event-loop
// block while scraped, from the first complete scrape of every exporter to
// the last scrape of the window; for comparison, after BLOCK_PROBE_WARMUP_MS
// (default 10 s) to exit, and over its whole life. On two cores the peers'
// scrapes keep both busy for seconds, and a block then is mostly our main
// thread waiting for a core (Linux's schedstat says how long). A second window
// of ALONE_S (default 30) s follows the first, ours scraped alone on the same
// host with the peers stopped (SIGSTOP). The target is held, in both windows,
// to the longest block less the main thread's wait for a core; the wall
// figures are printed beside it.
// Start to first complete scrape: from the spawn of each exporter until one of
// its scrapes reports all N processes (polled every 0.5 s, all at once).
//
// MODE=discovery measures the whole-host job instead: the N processes run
// under GROUPS command names, and both exporters read the same process-exporter
// config, one catch-all rule that groups every process on the machine by its
// command name (`{{.Comm}}`); ours runs `watch --discover` on that file.
//
// process-exporter is installed with apt-get when missing (on a machine run by
// systemd the package also enables its own service on :9256; this benchmark starts
// a separate instance); without it only our side is measured, with a note.
// Each exporter runs with its defaults: ours samples the full field set every 5 s;
// process-exporter reads /proc (every process on the machine, plus smaps and
// threads of its groups) on each scrape and gzips the answer, which is asked for
// as Prometheus asks.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { cpuSeconds, commOf, median, memoryBytes } from './proc-read.mjs';

const SIZES = (process.env.SIZES ?? '200,2000,10000').split(',').map(Number);
const WINDOW_S = Number(process.env.WINDOW_S ?? 60);
const SHAPES = (process.env.SHAPES ?? 'trees,single').split(',');
for (const shape of SHAPES)
  if (shape !== 'trees' && shape !== 'single') throw new Error(`SHAPES: unknown shape ${JSON.stringify(shape)} (trees, single)`);
for (const n of SIZES)
  if (!Number.isInteger(n) || n < 3) throw new Error(`SIZES: ${JSON.stringify(n)} is not a whole number of at least 3`);
if (!(WINDOW_S >= 5)) throw new Error(`WINDOW_S: ${JSON.stringify(process.env.WINDOW_S)} is not a number of seconds of at least 5`);
const PROBE = fileURLToPath(new URL('./block-probe.mjs', import.meta.url));
const LEAN = ['-threads=false', '-gather-smaps=false'];
const SCRAPE_S = Number(process.env.SCRAPE_S ?? 5);
/** Seconds of the second window, ours scraped alone with the peers stopped. */
const ALONE_S = Number(process.env.ALONE_S ?? 30);
if (!(ALONE_S >= SCRAPE_S))
  throw new Error(`ALONE_S: ${JSON.stringify(process.env.ALONE_S)} is not a number of seconds of at least SCRAPE_S`);
const READY_TIMEOUT_S = Number(process.env.READY_TIMEOUT_S ?? 180);
const PEER = 'prometheus-process-exporter';
const DISCOVERY = process.env.MODE === 'discovery';
const GROUPS = Number(process.env.GROUPS ?? 200);
/** Every process on the host, grouped by command name: the same file for both exporters. */
const CATCH_ALL = `process_names:\n  - name: "{{.Comm}}"\n    cmdline:\n      - '.+'\n`;
/** Command name of the group a target of discovery mode runs under. */
const groupName = (i, tag) => `pm${tag.slice(-4)}g${String(i % GROUPS).padStart(3, '0')}`;
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
/** Loop turns a probe burns before it becomes a `sleep`: about a second of CPU in dash. */
const BURN_LOOPS = 1_000_000;
const sleepPath = spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).stdout.trim();
const PROBES = 2;

/** Every process this run starts, so that an interrupted run leaves none behind. */
const spawned = new Set();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** Whether the peer is on PATH, installed from Debian when missing; the reason when it cannot be had. */
function ensurePeer() {
  if (has(PEER)) return { ok: true };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', PEER], { encoding: 'utf8', env });
  let result = install();
  if (result.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
    result = install();
  }
  if (result.status === 0 && has(PEER)) return { ok: true };
  const why = result.error?.message || (result.stderr ?? '').trim().split('\n').at(-1) || `apt-get exited ${result.status}`;
  return { ok: false, why };
}

function peerVersion() {
  const out = spawnSync(PEER, ['-version'], { encoding: 'utf8' });
  return /revision: ([^)]+)\)/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? 'unknown version';
}

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * N processes whose command lines are `sleep <100000+i>.<tag>`; the first PROBES burn CPU first.
 * In discovery mode each runs `sleep` through a link named after its group, which becomes its command name.
 */
async function spawnTargets(n, tag, dir) {
  const children = [];
  for (let i = 0; i < n; i++) {
    const arg = `${100000 + i}.${tag}`;
    if (DISCOVERY) {
      const link = join(dir, groupName(i, tag));
      if (i < GROUPS) symlinkSync(sleepPath, link);
      const child = spawn(link, [arg], { stdio: 'ignore' });
      children.push(child);
      spawned.add(child);
      await once(child, 'spawn');
      continue;
    }
    const child =
      i < PROBES
        ? spawn('sh', ['-c', `i=0; while [ $i -lt ${BURN_LOOPS} ]; do i=$((i+1)); done; exec sleep "$0"`, arg], { stdio: 'ignore' })
        : spawn('sleep', [arg], { stdio: 'ignore' });
    children.push(child);
    spawned.add(child);
    await once(child, 'spawn');
  }
  // Both exporters must first see the probes as the `sleep`s they become.
  if (DISCOVERY) return children;
  for (const child of children.slice(0, PROBES)) while (commOf(child.pid) !== 'sleep') await sleep(50);
  return children;
}

async function stop(children, signal = 'SIGKILL') {
  await Promise.all(
    children.map((child) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return undefined;
      const exited = once(child, 'exit');
      child.kill(signal);
      return exited;
    }),
  );
}

/** The file whose presence opens the block probe's window (see bench/block-probe.mjs). */
const probeWindowFile = (dir) => join(dir, 'block-probe-window');

function startOurs(dir, port, children, shape) {
  const node = [process.execPath, '--import', PROBE];
  const stdio = ['ignore', 'pipe', 'pipe'];
  const env = { ...process.env, BLOCK_PROBE_WINDOW_FILE: probeWindowFile(dir) };
  const extra = ['--json', ...(shape === 'single' ? ['--single-process'] : [])];
  if (DISCOVERY) {
    const rules = join(dir, 'all.yml');
    writeFileSync(rules, CATCH_ALL);
    return spawn(
      node[0],
      [
        ...node.slice(1),
        CLI,
        'watch',
        '--discover',
        rules,
        '--max-groups',
        '1000',
        '--prometheus',
        `127.0.0.1:${port}`,
        '-i',
        `${SCRAPE_S}s`,
        ...extra,
      ],
      { stdio, env },
    );
  }
  const config = join(dir, 'procmetrics.json');
  const services = Object.fromEntries(children.map((child, i) => [`svc-${100000 + i}`, child.pid]));
  writeFileSync(config, JSON.stringify({ services }));
  // stdout carries one JSON line per service and tick, to a pipe this script reads and counts.
  return spawn(
    node[0],
    [...node.slice(1), CLI, 'watch', '-c', config, '--prometheus', `127.0.0.1:${port}`, '-i', `${SCRAPE_S}s`, ...extra],
    {
      stdio,
      env,
    },
  );
}

function startPeer(dir, port, tag, shape, flags) {
  const config = join(dir, 'process-exporter.yml');
  const args = [
    `--web.listen-address=127.0.0.1:${port}`,
    '-config.path',
    config,
    ...(shape === 'single' ? ['-children=false'] : []),
    ...flags,
  ];
  if (DISCOVERY) {
    writeFileSync(config, CATCH_ALL);
    return spawn(PEER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  // One group per process: the group is named after the unique number in the command line.
  writeFileSync(config, `process_names:\n  - name: "svc-{{.Matches.idx}}"\n    cmdline:\n      - '^sleep (?P<idx>\\d+)\\.${tag}$'\n`);
  return spawn(PEER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const agent = new Agent({ keepAlive: true });
/** One scrape as Prometheus sends it (text format, gzip accepted): wall ms to the last byte, bytes on the wire, the text. */
function scrape(port) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        agent,
        headers: { accept: 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1', 'accept-encoding': 'gzip' },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const ms = performance.now() - started;
          const body = Buffer.concat(chunks);
          const text = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
          resolve({ status: res.statusCode, ms, wireBytes: body.length, text });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const seriesOf = (text) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

/** `name{labels} value` lines of one metric, as [labels, value] pairs. */
function valuesOf(text, name) {
  const found = [];
  for (const line of seriesOf(text)) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    found.push([line.slice(name.length + 1, close), Number(line.slice(close + 2))]);
  }
  return found;
}

/** Sum of a metric's values over the series whose labels contain every `needles` text. */
const sumOf = (text, name, ...needles) =>
  valuesOf(text, name)
    .filter(([labels]) => needles.every((needle) => labels.includes(needle)))
    .reduce((sum, [, value]) => sum + value, 0);

/** Processes of this run's groups that an exporter reports, from its group-size metric and label. */
const inGroups = (text, metric, label, tag) =>
  valuesOf(text, metric)
    .filter(([labels]) => labels.includes(`${label}="pm${tag.slice(-4)}g`))
    .reduce((sum, [, value]) => sum + value, 0);

const ours = {
  name: 'procmetrics',
  covered: (text, tag) =>
    DISCOVERY ? inGroups(text, 'procmetrics_service_processes', 'service_name', tag) : valuesOf(text, 'process_memory_usage_bytes').length,
  reportedCpu: (text, service) => sumOf(text, 'process_cpu_time_seconds_total', `service_name="${service}"`),
  reportedRss: (text, service) => sumOf(text, 'process_memory_usage_bytes', `service_name="${service}"`),
};
const theirs = {
  name: 'process-exporter',
  covered: (text, tag) =>
    DISCOVERY
      ? inGroups(text, 'namedprocess_namegroup_num_procs', 'groupname', tag)
      : valuesOf(text, 'namedprocess_namegroup_num_procs').filter(([, v]) => v === 1).length,
  reportedCpu: (text, service) => sumOf(text, 'namedprocess_namegroup_cpu_seconds_total', `groupname="${service}"`),
  reportedRss: (text, service) => sumOf(text, 'namedprocess_namegroup_memory_bytes', `groupname="${service}"`, 'memtype="resident"'),
};

/** Waits until the exporter reports every one of the n processes; the seconds it took. */
async function whenReady(side, n, tag) {
  const started = side.spawnedAt;
  let covered = 0;
  while (performance.now() - started < READY_TIMEOUT_S * 1000) {
    if (side.process.exitCode !== null)
      throw new Error(`${side.name} exited (${side.process.exitCode}): ${side.stderr.trim().split('\n').at(-1)}`);
    try {
      covered = side.covered((await scrape(side.port)).text, tag);
      if (covered >= n) return (performance.now() - started) / 1000;
    } catch {
      // Not listening yet.
    }
    await sleep(500);
  }
  throw new Error(`${side.name} reports ${covered} of ${n} processes after ${READY_TIMEOUT_S} s`);
}

const mib = (bytes) => (bytes / 2 ** 20).toFixed(2);
const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');

/**
 * Counts ours' `--json` lines per service while `side.lines.counting`. Timestamps
 * are each process's own read time, so ticks are not told apart by them: what
 * was lost is the tracker's own count of snapshots its subscribers (here the
 * output alone) did not take, read from the scrapes at the window's ends.
 */
function countLines(side) {
  side.lines = { counting: false, perService: new Map(), droppedAtStart: null };
  let rest = '';
  side.process.stdout.setEncoding('utf8').on('data', (chunk) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop();
    if (!side.lines.counting) return;
    for (const line of parts) {
      const name = /"serviceName":"([^"]*)"/.exec(line)?.[1];
      if (name !== undefined) side.lines.perService.set(name, (side.lines.perService.get(name) ?? 0) + 1);
    }
  });
}

/** procmetrics_tracker_snapshots_dropped_total in an exposition of ours. */
const droppedSnapshots = (text) => Number(/^procmetrics_tracker_snapshots_dropped_total (\d+)/m.exec(text)?.[1] ?? NaN);

/** Lines of the window: per service, fewest and most; lost: snapshots the tracker dropped in it. */
function lostLines(side, n, droppedAtEnd) {
  const counts = [...side.lines.perService.values()];
  const lines = counts.reduce((a, b) => a + b, 0);
  return {
    lines,
    fewest: counts.length < n ? 0 : Math.min(...counts),
    most: counts.length ? Math.max(...counts) : 0,
    lost: droppedAtEnd - side.lines.droppedAtStart,
  };
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

async function run(n, shape, peerAvailable) {
  const tag = String(100000 + Math.floor(Math.random() * 900000));
  const dir = mkdtempSync(join(tmpdir(), 'procmetrics-bench-'));
  const windowFile = probeWindowFile(dir);
  const spawnStarted = performance.now();
  const children = await spawnTargets(n, tag, dir);
  const spawnS = (performance.now() - spawnStarted) / 1000;
  const sides = [{ ...ours, port: await freePort() }];
  if (peerAvailable) {
    sides.push({ ...theirs, name: 'process-exporter', flags: [], port: await freePort() });
    sides.push({ ...theirs, name: 'process-exporter lean', flags: LEAN, port: await freePort() });
  }
  try {
    for (const side of sides) {
      side.spawnedAt = performance.now();
      side.process = side === sides[0] ? startOurs(dir, side.port, children, shape) : startPeer(dir, side.port, tag, shape, side.flags);
      spawned.add(side.process);
      side.stderr = '';
      side.process.stderr.setEncoding('utf8').on('data', (chunk) => (side.stderr = (side.stderr + chunk).slice(-4096)));
    }
    countLines(sides[0]);
    await Promise.all(sides.map(async (side) => (side.readyS = await whenReady(side, n, tag))));

    // The probe's window: from here to the end of the scrapes, start-up and exit left out.
    writeFileSync(windowFile, '');
    const loadStart = loadavg();
    for (const side of sides) {
      side.cpuStart = cpuSeconds(side.process.pid).total;
      side.scrapes = [];
      side.rssSamples = [];
    }
    sides[0].lines.counting = true;
    const windowStart = performance.now();
    const rounds = Math.floor(WINDOW_S / SCRAPE_S);
    for (let round = 0; round < rounds; round++) {
      await sleep(Math.max(0, windowStart + round * SCRAPE_S * 1000 - performance.now()));
      // Rotate who goes first, so no one always scrapes on a quieter machine.
      const order = sides.map((_, i) => sides[(i + round) % sides.length]);
      for (const side of order) {
        side.rssSamples.push(memoryBytes(side.process.pid).rss);
        const result = await scrape(side.port);
        if (result.status !== 200) throw new Error(`${side.name} answered ${result.status}`);
        side.scrapes.push({
          ms: result.ms,
          wireBytes: result.wireBytes,
          textBytes: Buffer.byteLength(result.text),
          series: seriesOf(result.text).length,
        });
        side.last = result.text;
        if (side === sides[0]) sides[0].lines.droppedAtStart ??= droppedSnapshots(result.text);
      }
    }
    await sleep(Math.max(0, windowStart + WINDOW_S * 1000 - performance.now()));
    sides[0].lines.counting = false;
    rmSync(windowFile, { force: true });
    // Scrapes slower than the interval stretch the window: CPU per minute is over the time it really took.
    const windowS = (performance.now() - windowStart) / 1000;
    for (const side of sides) {
      side.windowS = windowS;
      side.cpu = cpuSeconds(side.process.pid).total - side.cpuStart;
      side.memory = memoryBytes(side.process.pid);
      side.rssSamples.push(side.memory.rss);
    }
    const loadEnd = loadavg();
    // Values against /proc, read right after a last scrape of each (not part of the window).
    for (const side of sides) side.last = (await scrape(side.port)).text;
    const json = lostLines(sides[0], n, droppedSnapshots(sides[0].last));
    const checked = [0, 1, n - 1].filter((i, at, all) => i < n && all.indexOf(i) === at);
    const truth = checked.map((i) => ({
      service: `svc-${100000 + i}`,
      cpu: cpuSeconds(children[i].pid).total,
      rss: memoryBytes(children[i].pid).rss,
    }));

    // A second window, ours alone: the peers are stopped (SIGSTOP) and take no
    // CPU, so the block is what a user of ours alone feels on this host.
    const peerSides = sides.slice(1);
    for (const side of peerSides) side.process.kill('SIGSTOP');
    writeFileSync(windowFile, '');
    const aloneStart = performance.now();
    for (let round = 0; round < Math.floor(ALONE_S / SCRAPE_S); round++) {
      await sleep(Math.max(0, aloneStart + round * SCRAPE_S * 1000 - performance.now()));
      const result = await scrape(sides[0].port);
      if (result.status !== 200) throw new Error(`${sides[0].name} answered ${result.status}`);
    }
    await sleep(Math.max(0, aloneStart + ALONE_S * 1000 - performance.now()));
    rmSync(windowFile, { force: true });
    for (const side of peerSides) side.process.kill('SIGCONT');

    // Ours ends on SIGTERM as under a service manager; the probe prints its figures at exit.
    const ourExit = once(sides[0].process, 'exit');
    sides[0].process.kill('SIGTERM');
    await Promise.race([ourExit, sleep(15_000)]);
    const block = /block-probe max_ms=([\d.]+) p99_ms=([\d.]+) all_max_ms=([\d.]+)/.exec(sides[0].stderr);
    const probed = (which) => {
      const line = new RegExp(
        `block-probe-window n=${which} max_ms=([\\d.]+) cpu_ms=([\\d.]+) max_on_cpu_ms=([\\d.]+) main_wait_ms=([\\d.-]+) max_not_waiting_ms=([\\d.-]+)`,
      ).exec(sides[0].stderr);
      return (
        line && { max: Number(line[1]), cpu: Number(line[2]), onCpu: Number(line[3]), waited: Number(line[4]), notWaiting: Number(line[5]) }
      );
    };
    const [beside, alone] = [probed(1), probed(2)];
    sides[0].block = block && beside && alone ? { ...beside, alone, afterWarmUp: Number(block[1]), all: Number(block[3]) } : null;

    report(n, shape, sides, DISCOVERY ? [] : truth, loadStart, loadEnd, spawnS, json);
    // The probe's own lines, for what the table leaves out (the main thread's run, the helpers' wait).
    for (const line of sides[0].stderr.split('\n')) if (line.startsWith('block-probe-window')) console.log(`    ${line}`);
    if (DISCOVERY) reportGroups(sides, tag);
  } finally {
    // A peer stopped for the second window would hold its SIGTERM until continued.
    for (const side of sides.slice(1)) side.process?.kill('SIGCONT');
    await stop(
      sides.map((side) => side.process),
      'SIGTERM',
    );
    await stop(children);
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(n, shape, sides, truth, loadStart, loadEnd, spawnS, json) {
  const [a, ...peers] = sides;
  const pick = (side, f) => (side?.scrapes ? f(side) : NaN);
  const rows = [
    ['CPU seconds per minute', (s) => (s.cpu / s.windowS) * 60, 2],
    ['window really measured, s', (s) => s.windowS, 0],
    ['RSS median over the window, MiB', (s) => median(s.rssSamples) / 2 ** 20, 1],
    ['peak RSS (VmHWM), MiB', (s) => s.memory.peak / 2 ** 20, 1],
    ['scrape wall ms, median', (s) => median(s.scrapes.map((x) => x.ms)), 1],
    [
      'scrape wall ms, p95',
      (s) =>
        percentile(
          s.scrapes.map((x) => x.ms),
          95,
        ),
      1,
    ],
    ['s from spawn to first complete scrape', (s) => s.readyS, 1],
    ['CPU s from spawn until then', (s) => s.cpuStart, 2],
    ['response bytes on the wire, median', (s) => median(s.scrapes.map((x) => x.wireBytes)), 0],
    ['series per scrape', (s) => median(s.scrapes.map((x) => x.series)), 0],
  ];
  const shapeText = shape === 'single' ? 'single-process (ours `--single-process`, theirs `-children=false`)' : 'trees (both defaults)';
  console.log(`\n### ${n} processes, ${shapeText}, ${WINDOW_S} s window, scraped every ${SCRAPE_S} s (${a.scrapes.length} scrapes each)\n`);
  console.log(
    `spawning the ${n} processes took ${spawnS.toFixed(1)} s; load average (1, 5, 15 min) at start ${loadStart.map((x) => x.toFixed(2)).join(', ')}, at end ${loadEnd.map((x) => x.toFixed(2)).join(', ')}\n`,
  );
  const names = peers.map((p) => p.name);
  console.log(`| measure | procmetrics | ${names.join(' | ')} | ${names.map((x) => `ours / ${x}`).join(' | ')} |`);
  console.log(`|---|---:|${peers.map(() => '---:|').join('')}${peers.map(() => '---:|').join('')}`);
  for (const [label, f, digits] of rows) {
    const x = pick(a, f);
    const ys = peers.map((p) => pick(p, f));
    console.log(
      `| ${label} | ${fixed(x, digits)} | ${ys.map((y) => fixed(y, digits)).join(' | ')} | ${ys.map((y) => ratio(x, y)).join(' | ')} |`,
    );
  }
  const block = a.block;
  const dash = peers.map(() => '-').join(' | ');
  console.log(
    `| longest event-loop block, ms: while scraped (after a ${Number(process.env.BLOCK_PROBE_WARMUP_MS ?? 10_000) / 1000} s warm-up to exit; whole life) | ${block ? `${block.max.toFixed(1)} (${block.afterWarmUp.toFixed(1)}; ${block.all.toFixed(1)})` : '?'} | ${dash} | ${dash} |`,
  );
  console.log(
    `| the same, counting only time the process ran: its CPU ms during that block; the longest block on CPU, ms | ${block ? `${block.cpu.toFixed(1)}; ${block.onCpu.toFixed(1)}` : '?'} | ${dash} | ${dash} |`,
  );
  console.log(
    `| the same, less the time the main thread waited for a core (Linux schedstat): its wait during that block; the longest block less its wait, ms | ${block ? `${block.waited.toFixed(1)}; ${block.notWaiting.toFixed(1)}` : '?'} | ${dash} | ${dash} |`,
  );
  console.log(
    `| longest event-loop block, ms, scraped alone for ${ALONE_S} s after the window (the peers stopped); the main thread's wait for a core in it; the longest block less its wait | ${block ? `${block.alone.max.toFixed(1)}; ${block.alone.waited.toFixed(1)}; ${block.alone.notWaiting.toFixed(1)}` : '?'} | ${dash} | ${dash} |`,
  );
  console.log(
    `| \`--json\` lines in the window, per service (N = ${n}): fewest..most | ${json.fewest}..${json.most} (${json.lines} in all) | ${dash} | ${dash} |`,
  );
  console.log(`| \`--json\` snapshots lost in the window (the tracker's dropped count) | ${json.lost} | ${dash} | ${dash} |`);

  if (truth.length) {
    console.log('\nValues reported for single processes, against /proc read right after the last scrape:\n');
    console.log(`| service | CPU s: /proc | procmetrics | ${names.join(' | ')} | RSS MiB: /proc | procmetrics | ${names.join(' | ')} |`);
    console.log(`|---|${'---:|'.repeat(4 + 2 * peers.length)}`);
    for (const [at, t] of truth.entries()) {
      const reported = (side, read, scale) => (side.last ? fixed(read(side.last, t.service) / scale, 2) : '-');
      const cells = [
        t.cpu.toFixed(2),
        ...sides.map((s) => reported(s, s.reportedCpu, 1)),
        mib(t.rss),
        ...sides.map((s) => reported(s, s.reportedRss, 2 ** 20)),
      ];
      console.log(`| ${t.service}${at < PROBES ? ' (burned CPU first)' : ''} | ${cells.join(' | ')} |`);
    }
  }
  console.log(`\n${verdict(n, shape, sides, json)}`);
}

/** One line against the targets: RSS <= theirs at 10,000 and <= 2x at 2,000, CPU <= theirs, blocks <= 50 ms, no lost line. */
function verdict(n, shape, sides, json) {
  const [a, ...peers] = sides;
  const checks = [];
  const limit = n >= 10_000 ? 1 : n >= 2000 ? 2 : null;
  for (const p of peers) {
    const rss = median(a.rssSamples) / median(p.rssSamples);
    if (limit !== null) checks.push([`RSS ${rss.toFixed(2)}x ${p.name} (<= ${limit}x)`, rss <= limit]);
    const cpu = a.cpu / p.cpu;
    checks.push([`CPU ${cpu.toFixed(2)}x ${p.name} (<= 1x)`, cpu <= 1]);
  }
  // The block is held to what the command itself holds the loop for: its
  // longest block less the main thread's wait for a core, beside the peers and
  // alone. The wall figures ride along: on this VM, 10,000 processes alone
  // keep the kernel's kdamond thread busy on 0.6 of a core (BENCHMARKS.md).
  if (a.block) {
    const { alone } = a.block;
    checks.push([
      `block beside the peers ${a.block.notWaiting.toFixed(1)} ms less its wait for a core (<= 50; ${a.block.max.toFixed(1)} ms wall)`,
      a.block.notWaiting <= 50,
    ]);
    checks.push([
      `block alone ${alone.notWaiting.toFixed(1)} ms less its wait for a core (<= 50; ${alone.max.toFixed(1)} ms wall)`,
      alone.notWaiting <= 50,
    ]);
  } else checks.push(['block: no figure from the probe', false]);
  checks.push([`${json.lost} lost lines (0)`, json.lost === 0]);
  const failed = checks.filter(([, ok]) => !ok).length;
  const detail = checks.map(([text, ok]) => `${ok ? 'ok' : 'MISS'} ${text}`).join('; ');
  return `**verdict ${n} ${shape}: ${failed === 0 ? 'all targets met' : `${failed} of ${checks.length} targets missed`}** (${detail}${limit === null ? '; no RSS target at this size' : ''})`;
}

/** Discovery mode: whether both exporters made the same groups of this run's processes, with the same sizes. */
function reportGroups(sides, tag) {
  const sizes = (side, metric, label) =>
    new Map(
      valuesOf(side.last, metric)
        .filter(([labels]) => labels.includes(`${label}="pm${tag.slice(-4)}g`))
        .map(([labels, value]) => [new RegExp(`${label}="([^"]+)"`).exec(labels)?.[1], value]),
    );
  const mine = sizes(sides[0], 'procmetrics_service_processes', 'service_name');
  console.log(`\nGroups of this run's processes: procmetrics ${mine.size}`);
  if (!sides[1]) return;
  const theirs = sizes(sides[1], 'namedprocess_namegroup_num_procs', 'groupname');
  const differ = [...new Set([...mine.keys(), ...theirs.keys()])].filter((name) => mine.get(name) !== theirs.get(name));
  console.log(
    `process-exporter ${theirs.size}; groups whose name or size differ: ${differ.length === 0 ? 'none' : differ.slice(0, 5).join(', ')}`,
  );
  const all = (side, metric) => valuesOf(side.last, metric).length;
  console.log(
    `every group on the host: procmetrics ${all(sides[0], 'procmetrics_service_processes')}, process-exporter ${all(sides[1], 'namedprocess_namegroup_num_procs')}`,
  );
}

const peer = ensurePeer();
console.log(
  `nproc ${availableParallelism()}, Linux ${release()}, node ${process.version}, ${peer.ok ? `${PEER} ${peerVersion()}` : `${PEER}: not available`}`,
);
console.log('The machine is shared with other work: single runs move by tens of per cent; read ratios and medians.');
if (!peer.ok) console.log(`note: ${PEER} could not be installed (${peer.why}); only procmetrics is measured.`);

const cleanUp = () => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  process.exit(130);
};
process.once('SIGINT', cleanUp);
process.once('SIGTERM', cleanUp);
for (const n of SIZES) for (const shape of DISCOVERY ? ['trees'] : SHAPES) await run(n, shape, peer.ok);
agent.destroy();
