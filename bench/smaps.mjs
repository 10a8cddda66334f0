// What PSS and USS cost to read: smaps_rollup beside the four files a full
// sample reads (stat, statm, status, io), per process, on real processes of
// two shapes: idle `sleep`s (a few mappings each) and the node processes
// running this benchmark's helpers (hundreds of mappings, a large heap).
// smaps_rollup makes the kernel walk every mapping, which is why the collector
// reads it at its own interval (30 s by default) rather than on every tick.
//
//   npm run bench:smaps            (ROUNDS=7 SLEEPS=200 NODES=8 by default)
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { median } from './proc-read.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SLEEPS = Number(process.env.SLEEPS ?? 200);
const NODES = Number(process.env.NODES ?? 8);
const buffer = Buffer.allocUnsafe(64 * 1024);
const children = [];

function readAll(path) {
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, buffer, 0, buffer.length, 0);
  } finally {
    closeSync(fd);
  }
}

/** Median and range over ROUNDS of the time to read `files` of every pid, µs per process. */
function measure(pids, files) {
  const perProcess = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (const pid of pids) for (const file of files) readAll(`/proc/${pid}/${file}`);
    perProcess.push(Number(process.hrtime.bigint() - started) / 1000 / pids.length);
  }
  return { median: median(perProcess), min: Math.min(...perProcess), max: Math.max(...perProcess) };
}

const show = ({ median: m, min, max }) => `${m.toFixed(1)} µs (${min.toFixed(1)}-${max.toFixed(1)})`;

try {
  for (let i = 0; i < SLEEPS; i++) children.push(spawn('sleep', ['1000'], { stdio: 'ignore' }));
  for (let i = 0; i < NODES; i++) {
    children.push(
      spawn(
        process.execPath,
        ['-e', "const keep = Array.from({ length: 2e6 }, (_, i) => ({ i })); console.log('ready'); setInterval(() => keep.length, 1e6)"],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      ),
    );
  }
  // Measured once every heap is built: a machine busy allocating would time its own load.
  await Promise.all(children.slice(SLEEPS).map((child) => new Promise((resolve) => child.stdout.once('data', resolve))));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const shapes = [
    ['sleep', children.slice(0, SLEEPS).map((child) => child.pid)],
    ['node (40 MB heap)', children.slice(SLEEPS).map((child) => child.pid)],
  ];
  console.log(`per process, median of ${ROUNDS} rounds (range); ${SLEEPS} sleeps, ${NODES} node processes\n`);
  console.log('| processes | stat+statm+status+io | smaps_rollup | ratio |');
  console.log('|---|---:|---:|---:|');
  for (const [shape, pids] of shapes) {
    const four = measure(pids, ['stat', 'statm', 'status', 'io']);
    const smaps = measure(pids, ['smaps_rollup']);
    console.log(`| ${shape} | ${show(four)} | ${show(smaps)} | ${(smaps.median / four.median).toFixed(1)}x |`);
  }
} finally {
  for (const child of children) child.kill('SIGKILL');
}
