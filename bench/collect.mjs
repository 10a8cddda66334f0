// Cost of one sweep per process: our /proc collector (basic and full fields),
// pidusage on the same pids, and a C program that only preads stat + statm (the
// floor). All in one run, on the same idle processes, so the figures are ratios.
// Also: the longest time a 2,000-process sweep keeps the event loop from running.
//
//   npm run bench:collect            (builds dist/ first)
//   SIZES=200,2000 ROUNDS=7 npm run bench:collect
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import pidusage from 'pidusage';
import { ProcfsCollector } from '../dist/collectors/index.js';

const SIZES = (process.env.SIZES ?? '200,2000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
/** Sweeps per round: enough work per timing to dwarf the clock, little enough to stay polite on 2 cores. */
const sweepsFor = (n) => Math.max(3, Math.round(5000 / n));

const floorSource = fileURLToPath(new URL('./procfloor.c', import.meta.url));
const floorBinary = fileURLToPath(new URL('./procfloor', import.meta.url));

function compileFloor() {
  try {
    if (!existsSync(floorBinary) || statSync(floorBinary).mtimeMs < statSync(floorSource).mtimeMs) {
      execFileSync('cc', ['-O2', '-o', floorBinary, floorSource], { stdio: 'inherit' });
    }
    return true;
  } catch (error) {
    console.log(`note: no C compiler (${error.message.split('\n')[0]}); the floor column is skipped`);
    return false;
  }
}

async function spawnIdle(count) {
  const children = [];
  for (let i = 0; i < count; i++) {
    const child = spawn('sleep', ['100000'], { stdio: 'ignore' });
    children.push(child);
    await once(child, 'spawn');
  }
  return children;
}

async function killAll(children) {
  await Promise.all(
    children.map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      return exited;
    }),
  );
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** ns per process per sweep over `sweeps` sweeps. */
async function timeSweeps(sweep, sweeps, n) {
  globalThis.gc?.();
  const started = process.hrtime.bigint();
  for (let i = 0; i < sweeps; i++) await sweep();
  return Number(process.hrtime.bigint() - started) / sweeps / n;
}

/** Longest gap between two turns of the event loop while `work` runs, ms. */
async function longestBlock(work) {
  let last = performance.now();
  let longest = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  last = performance.now();
  await work();
  running = false;
  // The gap that ends when the sweep's last stretch finishes.
  await new Promise((resolve) => setImmediate(resolve));
  return longest;
}

function expectAllOk(outcomes, what) {
  const failed = outcomes.filter((outcome) => !outcome.ok);
  if (failed.length > 0) throw new Error(`${what}: ${failed.length} samples failed, e.g. ${failed[0].error}`);
}

async function benchSize(n, haveFloor) {
  const children = await spawnIdle(n);
  const pids = children.map((child) => child.pid);
  const targets = pids.map((pid) => ({ pid }));
  const sweeps = sweepsFor(n);
  const basic = new ProcfsCollector({ fields: 'basic' });
  const full = new ProcfsCollector({ fields: 'full' });
  const rows = { floor: [], basic: [], full: [], pidusage: [] };
  let blocks = null;
  try {
    // Warm-up: fds opened, caches filled, code optimised.
    expectAllOk(await basic.sample(targets), 'basic');
    expectAllOk(await full.sample(targets), 'full');
    await pidusage(pids);
    for (let round = 0; round < ROUNDS; round++) {
      if (haveFloor) {
        const out = execFileSync(floorBinary, [String(sweeps), ...pids.map(String)], { encoding: 'utf8' });
        rows.floor.push(Number(/floor_ns_per_pid (\d+)/.exec(out)[1]));
      }
      rows.basic.push(await timeSweeps(() => basic.sample(targets), sweeps, n));
      rows.full.push(await timeSweeps(() => full.sample(targets), sweeps, n));
      rows.pidusage.push(await timeSweeps(() => pidusage(pids), sweeps, n));
    }
    if (n >= 2000) {
      const cold = new ProcfsCollector({ fields: 'full' });
      const coldFull = await longestBlock(() => cold.sample(targets));
      const warmFull = [];
      for (let i = 0; i < 5; i++) warmFull.push(await longestBlock(() => cold.sample(targets)));
      blocks = { coldFull, warmFull: Math.max(...warmFull), warmBasic: await longestBlock(() => basic.sample(targets)) };
      cold.close();
    }
  } finally {
    basic.close();
    full.close();
    pidusage.clear();
    await killAll(children);
  }
  return { n, sweeps, rows, blocks };
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return `${availableParallelism()} CPUs (nproc), ${cpu}, Linux ${release()}, Node ${process.version}`;
}

const fmt = (ns) => (ns === undefined ? 'n/a' : Math.round(ns).toLocaleString('en-US'));
const ratio = (a, b) => (a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`);

const haveFloor = compileFloor();
console.log(`machine: ${machine()}`);
console.log(`rounds: ${ROUNDS} (medians shown), sweeps per round: ${SIZES.map((n) => `${sweepsFor(n)} at ${n}`).join(', ')}\n`);
const results = [];
for (const n of SIZES) results.push(await benchSize(n, haveFloor));

console.log('| processes | way | ns per process per sweep | vs C floor | pidusage / this |');
console.log('|---:|---|---:|---:|---:|');
for (const { n, rows } of results) {
  const floor = haveFloor ? median(rows.floor) : undefined;
  const pu = median(rows.pidusage);
  const line = (name, values) => {
    const value = median(values);
    console.log(`| ${n} | ${name} | ${fmt(value)} | ${ratio(value, floor)} | ${ratio(pu, value)} |`);
  };
  if (haveFloor) line('C floor: held fds, pread stat+statm', rows.floor);
  line('ProcfsCollector, basic fields', rows.basic);
  line('ProcfsCollector, full fields', rows.full);
  line('pidusage 4.1.0, warm, array of pids', rows.pidusage);
}
for (const { n, blocks } of results) {
  if (!blocks) continue;
  console.log(
    `\nlongest event-loop block during a ${n}-process sweep: ` +
      `first (cold) full sweep ${blocks.coldFull.toFixed(1)} ms, ` +
      `warm full sweeps ${blocks.warmFull.toFixed(1)} ms (worst of 5), warm basic sweep ${blocks.warmBasic.toFixed(1)} ms`,
  );
}
const targets = results.map(({ n, rows }) => {
  const basic = median(rows.basic);
  const floor = haveFloor ? median(rows.floor) : undefined;
  const pu = median(rows.pidusage);
  const floorOk = floor === undefined ? 'no floor' : basic <= 1.5 * floor ? 'met' : 'MISSED';
  const puOk = pu >= 2 * basic ? 'met' : 'MISSED';
  return `${n}: basic within 1.5x of floor ${floorOk}; >= 2x faster than pidusage ${puOk}`;
});
console.log(`\ntargets: ${targets.join(' | ')}`);
