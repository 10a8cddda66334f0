// Cost of one sweep per process: our /proc collector (basic and full fields),
// pidusage on the same pids, and a C program that only preads stat + statm (the
// floor). All in one run, on the same idle processes, so the figures are ratios.
// Also: the longest time a 2,000-process sweep keeps the event loop from running,
// and a service of 20 processes read as a tree and as a cgroup (TREES=0 skips it).
//
//   npm run bench:collect            (builds dist/ first)
//   SIZES=200,2000 ROUNDS=7 npm run bench:collect
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import pidusage from 'pidusage';
import { ProcfsCollector } from '../dist/collectors/index.js';

const SIZES = (process.env.SIZES ?? '200,2000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
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

/**
 * ns per process per sweep over `sweeps` sweeps: wall time, and CPU time of this
 * process (all its threads, so pidusage's thread-pool reads count too).
 */
async function timeSweeps(sweep, sweeps, n) {
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < sweeps; i++) await sweep();
  const wall = Number(process.hrtime.bigint() - started) / sweeps / n;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: ((used.user + used.system) * 1000) / sweeps / n };
}

/**
 * Longest gap between two turns of the event loop while `work` runs, ms, with the
 * CPU time this process spent in that gap: on a busy machine a gap can be longer
 * than the work done in it (the process was descheduled).
 */
async function longestBlock(work) {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let longest = { wallMs: 0, cpuMs: 0 };
  let running = true;
  const tick = () => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (now - last > longest.wallMs) {
      longest = { wallMs: now - last, cpuMs: (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000 };
    }
    last = now;
    lastCpu = cpu;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  last = performance.now();
  lastCpu = process.cpuUsage();
  await work();
  running = false;
  // The gap that ends when the sweep's last stretch finishes.
  await new Promise((resolve) => setImmediate(resolve));
  return longest;
}

/**
 * What any Node code pays: fs.readSync of stat and statm on fds held open (as the
 * collector holds them), nothing parsed. Returns the timing function and a closer.
 */
function nodeFloor(pids) {
  const buffer = Buffer.allocUnsafe(1024);
  const fds = [];
  try {
    for (const pid of pids) fds.push(openSync(`/proc/${pid}/stat`, 'r'), openSync(`/proc/${pid}/statm`, 'r'));
  } catch (error) {
    fds.forEach((fd) => closeSync(fd));
    if (error.code !== 'EMFILE') throw error;
    throw new Error(
      `the Node floor holds 2 fds a process, ${2 * pids.length} for ${pids.length}, beside the collectors' own: more than this open-files limit allows (a higher hard limit, ulimit -Hn, as root with CAP_SYS_RESOURCE)`,
      { cause: error },
    );
  }
  const sweep = async () => {
    for (const fd of fds) readSync(fd, buffer, 0, buffer.length, 0);
  };
  return { sweep, close: () => fds.forEach((fd) => closeSync(fd)) };
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
  const rows = { floor: [], node: [], basic: [], full: [], pidusage: [] };
  let blocks = null;
  let node;
  try {
    // Two fds a process on top of the collectors': past the open-files limit this throws, and the children still go.
    node = nodeFloor(pids);
    // Warm-up: fds opened, caches filled, code optimised.
    expectAllOk(await basic.sample(targets), 'basic');
    expectAllOk(await full.sample(targets), 'full');
    await pidusage(pids);
    const floorC = () => {
      const out = execFileSync(floorBinary, [String(sweeps), ...pids.map(String)], { encoding: 'utf8' });
      return { wall: Number(/floor_ns_per_pid (\d+)/.exec(out)[1]), cpu: Number(/cpu_ns_per_pid (\d+)/.exec(out)[1]) };
    };
    const ways = [
      ...(haveFloor ? [['floor', floorC]] : []),
      ['node', () => timeSweeps(node.sweep, sweeps, n)],
      ['basic', () => timeSweeps(() => basic.sample(targets), sweeps, n)],
      ['full', () => timeSweeps(() => full.sample(targets), sweeps, n)],
      ['pidusage', () => timeSweeps(() => pidusage(pids), sweeps, n)],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with a different way, so none always runs right after the
      // kernel cleans up after another (closed files, an exited floor process).
      for (let i = 0; i < ways.length; i++) {
        const [name, measure] = ways[(round + i) % ways.length];
        rows[name].push(await measure());
      }
    }
    node.close();
    node = undefined;
    if (n >= 2000) {
      // A fresh collector for the first-sweep figure; `full` gives its fds back first.
      full.close();
      const cold = new ProcfsCollector({ fields: 'full' });
      const checked = async () => expectAllOk(await cold.sample(targets), 'cold full');
      const coldFull = await longestBlock(checked);
      const warm = [];
      for (let i = 0; i < 5; i++) warm.push(await longestBlock(checked));
      const warmFull = warm.reduce((worst, block) => (block.wallMs > worst.wallMs ? block : worst));
      blocks = { coldFull, warmFull, warmBasic: await longestBlock(() => basic.sample(targets)) };
      cold.close();
    }
  } finally {
    node?.close();
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

const medianOf = (rows, kind) => (rows.length === 0 ? undefined : median(rows.map((row) => row[kind])));
console.log(
  '| processes | way | wall ns per process per sweep | vs C floor | pidusage / this | CPU ns per process per sweep | vs C floor | pidusage / this |',
);
console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
for (const { n, rows } of results) {
  const line = (name, values) => {
    const cells = ['wall', 'cpu'].map((kind) => {
      const value = medianOf(values, kind);
      return `${fmt(value)} | ${ratio(value, medianOf(rows.floor, kind))} | ${ratio(medianOf(rows.pidusage, kind), value)}`;
    });
    console.log(`| ${n} | ${name} | ${cells.join(' | ')} |`);
  };
  if (haveFloor) line('C floor: held fds, pread stat+statm', rows.floor);
  line('Node floor: held fds, fs.readSync stat+statm, no parsing', rows.node);
  line('ProcfsCollector, basic fields', rows.basic);
  line('ProcfsCollector, full fields', rows.full);
  line('pidusage 4.1.0, warm, array of pids', rows.pidusage);
}
const block = ({ wallMs, cpuMs }) => `${wallMs.toFixed(1)} ms (CPU ${cpuMs.toFixed(1)} ms)`;
for (const { n, blocks } of results) {
  if (!blocks) continue;
  console.log(`\nlongest event-loop block during a ${n}-process sweep, wall (CPU this process used in it):`);
  console.log(`  first (cold) full sweep: ${block(blocks.coldFull)}`);
  console.log(`  warm full sweeps, worst of 5: ${block(blocks.warmFull)}`);
  console.log(`  warm basic sweep: ${block(blocks.warmBasic)}`);
}
const targets = results.flatMap(({ n, rows }) =>
  ['wall', 'cpu'].map((kind) => {
    const basic = medianOf(rows.basic, kind);
    const floor = medianOf(rows.floor, kind);
    const pu = medianOf(rows.pidusage, kind);
    const floorOk = floor === undefined ? 'no floor' : basic <= 1.5 * floor ? 'met' : 'MISSED';
    const puOk = pu >= 2 * basic ? 'met' : 'MISSED';
    return `${n} ${kind}: basic within 1.5x of floor ${floorOk}, >= 2x faster than pidusage ${puOk}`;
  }),
);
console.log(`\ntargets:\n  ${targets.join('\n  ')}`);
if (process.env.TREES !== '0') await benchServices();
console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);

/**
 * One service of 20 processes (a shell and 19 sleeps), read four ways per sweep:
 * its root alone, as a tree (one pass over every process on the machine, then
 * the 20), as a cgroup holding the 20 (v2 where mounted, and v1 cpuacct), in
 * microseconds per service per sweep. The tree's cost grows with the number of
 * processes on the machine, which is printed.
 */
async function benchServices() {
  const SERVICE = 20;
  const shell = spawn('sh', ['-c', `for i in $(seq ${SERVICE - 1}); do sleep 100000 & done; wait`], { stdio: 'ignore' });
  await once(shell, 'spawn');
  const childrenOf = (pid) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  const deadline = Date.now() + 5000;
  while (childrenOf(shell.pid).length < SERVICE - 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const members = [shell.pid, ...childrenOf(shell.pid)];
  const onMachine = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
  const hierarchies = {
    v2: '/sys/fs/cgroup/unified',
    cpuacct: '/sys/fs/cgroup/cpuacct',
    memory: '/sys/fs/cgroup/memory',
    pids: '/sys/fs/cgroup/pids',
  };
  const path = `/procmetrics-bench-${process.pid}`;
  const made = [];
  try {
    for (const mount of Object.values(hierarchies)) {
      try {
        mkdirSync(mount + path);
        made.push(mount + path);
        for (const pid of members) writeFileSync(`${mount}${path}/cgroup.procs`, String(pid));
      } catch {
        // Not root, or this hierarchy is not mounted here: that way is skipped.
      }
    }
    const ways = [
      ['root process alone (full fields)', new ProcfsCollector(), { pid: shell.pid }],
      // A pass over /proc on every sweep, as at any interval of 500 ms or more (sweeps back to back would share it).
      ['process tree of 20 (full fields)', new ProcfsCollector({ treeIndexMaxAgeMs: 0 }), { pid: shell.pid, descendants: true }],
      [
        'process tree of 20 (basic fields)',
        new ProcfsCollector({ fields: 'basic', treeIndexMaxAgeMs: 0 }),
        { pid: shell.pid, descendants: true },
      ],
    ];
    if (made.includes(hierarchies.v2 + path))
      ways.push([
        'cgroup of 20, v2 (cpu.stat; memory from /proc: no v2 memory controller here)',
        new ProcfsCollector(),
        { pid: 0, cgroup: path },
      ]);
    if (made.includes(hierarchies.cpuacct + path)) {
      const { v2, ...v1 } = hierarchies;
      ways.push(['cgroup of 20, v1 (cpuacct, memory, pids)', new ProcfsCollector({ cgroupMounts: v1 }), { pid: 0, cgroup: path }]);
    }
    const SWEEPS = 200;
    const rows = ways.map(() => []);
    for (const [, collector, target] of ways) expectAllOk(await collector.sample([target]), 'service warm-up');
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < ways.length; i++) {
        const at = (round + i) % ways.length;
        const [, collector, target] = ways[at];
        rows[at].push(await timeSweeps(async () => expectAllOk(await collector.sample([target]), 'service'), SWEEPS, 1));
      }
    }
    console.log(
      `\none service of ${SERVICE} processes, ${onMachine} processes on the machine; us per service per sweep, medians of ${ROUNDS} rounds of ${SWEEPS} sweeps:`,
    );
    console.log('| way | wall us | CPU us |');
    console.log('|---|---:|---:|');
    for (const [i, [name, collector]] of ways.entries()) {
      const us = (kind) => (medianOf(rows[i], kind) / 1000).toFixed(1);
      console.log(`| ${name} | ${us('wall')} | ${us('cpu')} |`);
      collector.close();
    }
  } finally {
    for (const pid of members) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of made) {
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  }
}
