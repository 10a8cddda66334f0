// How long `procmetrics watch -c FILE` takes to take on N services (one idle
// `sleep` each, trees on, the default) and how long it blocks its event loop
// meanwhile; optionally beside another build of the command in the same run
// (OTHER=/path/to/other/dist/cli/main.js), the two alternating, on the same
// processes.
//
// Each start runs `watch -c FILE --json -i 5s --prometheus off` with
// bench/block-probe.mjs preloaded (BLOCK_PROBE_LOG=1: every block over 10 ms,
// when it ended and how much of it was loading code). Taken on: the command has
// printed a snapshot of every service (each track() publishes one); then it
// gets SIGTERM. Printed per build, median and range over RUNS starts:
// - s from spawn until every service was printed, and until the first was;
// - the longest block before the first snapshot: loading the code (the OTel
//   SDK alone is a block of 100-200 ms here however many services there are),
//   reading the config, resolving the targets;
// - the longest block from the first snapshot to the last: taking services on;
// - the longest block from SIGTERM to exit (releasing what was held).
// Then, in this process, with each build's library (its dist/index.js) on the
// same processes: the longest block of a tick whose sweep times out for every
// service, and of a collector forgetting every process (WORLD=0 skips this).
// BLOCKS=1 prints every block of every start.
//
//   SIZES=2000,10000 RUNS=3 npm run bench:startup
//   git worktree add /tmp/old COMMIT && (cd /tmp/old && npm ci && npm run build)
//   OTHER=/tmp/old/dist/cli/main.js SIZES=2000,10000 npm run bench:startup
//   PROFILE=/tmp/prof SIZES=2000 RUNS=1 npm run bench:startup   # --cpu-prof of each start
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from './proc-read.mjs';

const SIZES = (process.env.SIZES ?? '2000').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 3);
const OTHER = process.env.OTHER;
const PROFILE = process.env.PROFILE;
const TIMEOUT_S = Number(process.env.TIMEOUT_S ?? 180);
const THIS = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const PROBE = fileURLToPath(new URL('./block-probe.mjs', import.meta.url));

/** Every process this run starts, so that an interrupted run leaves none behind. */
const spawned = new Set();
const killAll = () => {
  for (const child of spawned) child.kill('SIGKILL');
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

async function spawnSleepers(n) {
  const children = [];
  for (let i = 0; i < n; i++) {
    const child = spawn('sleep', [`${200000 + i}`], { stdio: 'ignore' });
    spawned.add(child);
    children.push(child);
    if (i % 100 === 99) await once(child, 'spawn');
  }
  await Promise.all(children.map((child) => (child.pid ? undefined : once(child, 'spawn'))));
  return children;
}

/** One start of `cli` on `config` until all n services were printed, then SIGTERM: the figures of that start. */
async function startOnce(cli, config, n, profileTag) {
  const args = ['--import', PROBE];
  if (PROFILE) args.push('--cpu-prof', '--cpu-prof-dir', PROFILE, '--cpu-prof-name', `${profileTag}.cpuprofile`);
  args.push(cli, 'watch', '-c', config, '--json', '-i', '5s', '--prometheus', 'off');
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BLOCK_PROBE_LOG: '1' } });
  spawned.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
  const seen = new Set();
  let firstLineAt = 0;
  let rest = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${seen.size} of ${n} services printed after ${TIMEOUT_S} s`)), TIMEOUT_S * 1000);
    child.once('exit', (code) => reject(new Error(`exited ${code} before taking on every service: ${stderr.trim().slice(-400)}`)));
    child.stdout.setEncoding('utf8').on('data', (text) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop();
      firstLineAt ||= Date.now();
      for (const line of lines) {
        const at = line.indexOf('"serviceName":"');
        if (at < 0) continue;
        seen.add(line.slice(at + 15, line.indexOf('"', at + 15)));
      }
      if (seen.size >= n) {
        clearTimeout(timer);
        resolve(Date.now());
      }
    });
  });
  try {
    const readyAt = await ready;
    const stoppedAt = Date.now();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    const log = JSON.parse(/block-probe-log (.*)/.exec(stderr)?.[1] ?? '[]');
    if (PROFILE) writeFileSync(join(PROFILE, `${profileTag}.blocks.json`), JSON.stringify(log));
    const longest = (from, to) => Math.max(0, ...log.filter(([end]) => end > from && end <= to).map(([, ms]) => ms));
    if (process.env.BLOCKS === '1') {
      const at = (end) => ((end - spawnedAt) / 1000).toFixed(2);
      console.log(
        `blocks (s after spawn: ms, of which loading CommonJS code): ${log.map(([end, ms, , l]) => `${at(end)}: ${ms} (${l})`).join(', ')}`,
      );
      console.log(`first snapshot at ${at(firstLineAt)} s, all at ${at(readyAt)} s`);
    }
    return {
      takeOnS: (readyAt - spawnedAt) / 1000,
      firstLineS: (firstLineAt - spawnedAt) / 1000,
      beforeMs: longest(spawnedAt, firstLineAt),
      blockMs: longest(firstLineAt, readyAt),
      stopBlockMs: longest(stoppedAt, Infinity),
    };
  } finally {
    child.kill('SIGKILL');
    spawned.delete(child);
  }
}

/**
 * In this process, with each build's library on the same N processes: the
 * longest event-loop block during a tick whose sweep times out for every
 * service (a collector that stops answering after the first samples), and
 * while a collector forgets N processes no sweep asks for any more (closing
 * what it held for them).
 */
async function worldErrors(builds, pids) {
  const rows = [];
  for (const build of builds) {
    const lib = await import(pathToFileURL(join(dirname(dirname(build.cli)), 'index.js')).href);
    const real = new lib.ProcfsCollector();
    let hung = false;
    const collector = {
      sample: (targets, signal) => (hung ? new Promise(() => {}) : real.sample(targets, signal)),
      close: () => real.close(),
    };
    const tracker = new lib.Tracker(collector, { collectionInterval: 1000, meterProvider: null });
    // A first sample that timed out on a loaded host is tried again, as the command does.
    const track = (name, pid) =>
      tracker.track(name, pid).catch((error) => (error.code === 'ETIMEDOUT' ? track(name, pid) : Promise.reject(error)));
    // In bursts of 500: an older build takes a burst of 10,000 calls on very slowly.
    for (let from = 0; from < pids.length; from += 500) {
      await Promise.all(pids.slice(from, from + 500).map((pid, i) => track(`svc-${from + i}`, pid)));
    }
    hung = true;
    const timeoutTick = await longestBlockDuring(async () => {
      tracker.start();
      while (tracker.stats().collectionTimeouts < pids.length) await sleep(20);
    });
    await tracker.close();
    real.close();

    const forgetting = new lib.ProcfsCollector({ forgetAfterSweeps: 1 });
    await forgetting.sample(pids.map((pid) => ({ pid })));
    const held = forgetting.openFds();
    const forget = await longestBlockDuring(() => forgetting.sample([]));
    forgetting.close();
    rows.push(`| ${build.name} | ${timeoutTick.toFixed(0)} | ${forget.toFixed(0)} (${held} fds closed) |`);
  }
  console.log(`\n${pids.length} services, in this process: longest event-loop block, ms\n`);
  console.log('| build | a tick whose sweep times out for every service | forgetting every process |');
  console.log('|---|---:|---:|');
  for (const row of rows) console.log(row);
}

async function longestBlockDuring(work) {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  await work();
  // The block that ended the work is seen at the next timer.
  await sleep(20);
  histogram.disable();
  return histogram.max / 1e6;
}

const range = (values, digits) => {
  const f = (v) => v.toFixed(digits);
  return `${f(median(values))} (${f(Math.min(...values))}-${f(Math.max(...values))})`;
};

async function measure(n) {
  const dir = mkdtempSync(join(tmpdir(), 'procmetrics-startup-'));
  const sleepers = await spawnSleepers(n);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ services: Object.fromEntries(sleepers.map((s, i) => [`svc-${i}`, s.pid])) }));
  const builds = [['this', THIS], ...(OTHER ? [['other', OTHER]] : [])].map(([name, cli]) => ({ name, cli, runs: [] }));
  try {
    for (let run = 0; run < RUNS; run++) {
      // Each round starts with the other build: neither always runs on a quieter machine.
      const order = run % 2 === 0 ? builds : [...builds].reverse();
      for (const build of order) build.runs.push(await startOnce(build.cli, config, n, `${build.name}-${n}-${run}`));
    }
    console.log(`\n${n} services, ${RUNS} starts per build; median (min-max)\n`);
    console.log(
      '| build | s to take on every service | s to the first snapshot | longest block before it, ms | longest block from it to the last, ms | longest block at exit, ms |',
    );
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const { name, runs } of builds) {
      const of = (key) => runs.map((r) => r[key]);
      console.log(
        `| ${name} | ${range(of('takeOnS'), 2)} | ${range(of('firstLineS'), 2)} | ${range(of('beforeMs'), 0)} | ${range(of('blockMs'), 0)} | ${range(of('stopBlockMs'), 0)} |`,
      );
    }
    if (process.env.WORLD !== '0')
      await worldErrors(
        builds,
        sleepers.map((s) => s.pid),
      );
  } finally {
    for (const sleeper of sleepers) {
      sleeper.kill('SIGKILL');
      spawned.delete(sleeper);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`this: ${THIS}${OTHER ? `\nother: ${OTHER}` : ''}`);
for (const n of SIZES) await measure(n);
