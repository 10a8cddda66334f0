// What one tracker tick costs with N real processes: the tick's duration and
// the longest stretch it keeps the event loop from running, with no subscriber,
// with one that reads every snapshot, and with one that never reads (its
// buffer fills and drops the oldest).
//
//   npm run bench:tick               (builds dist/ first)
//   N=2000 TICKS=6 npm run bench:tick
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Tracker } from '../dist/index.js';

const N = Number(process.env.N ?? 2000);
const TICKS = Number(process.env.TICKS ?? 6);

const children = [];
for (let i = 0; i < N; i++) {
  const child = spawn('sleep', ['100000'], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function measure(label, subscribe) {
  const tracker = new Tracker(undefined, { collectionInterval: 1000, meterProvider: null });
  for (const [i, child] of children.entries()) await tracker.track(`svc-${i}`, child.pid);
  subscribe(tracker);
  let last = performance.now();
  let longest = 0;
  let watching = true;
  const turn = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (watching) setImmediate(turn);
  };
  setImmediate(turn);
  tracker.start();
  const durations = [];
  const blocks = [];
  for (let t = 0; t < TICKS; t++) {
    const before = tracker.stats().ticks;
    longest = 0;
    while (tracker.stats().ticks === before) await new Promise((resolve) => setTimeout(resolve, 5));
    // The first tick also pays for warming up; it is left out of the medians.
    if (t > 0) {
      durations.push(tracker.stats().lastTickDurationMs);
      blocks.push(longest);
    }
  }
  watching = false;
  await tracker.close();
  console.log(`| ${label} | ${median(durations).toFixed(1)} | ${median(blocks).toFixed(1)} | ${Math.max(...blocks).toFixed(1)} |`);
}

console.log(`${N} processes, ${TICKS - 1} ticks after the first, node ${process.version}\n`);
console.log('| subscribers | tick ms (median) | longest block ms (median) | longest block ms (worst) |');
console.log('|---|---:|---:|---:|');
await measure('none', () => {});
await measure('one reading every snapshot', (tracker) => {
  const sub = tracker.subscribe({ bufferSize: 4096 });
  void (async () => {
    for await (const _ of sub);
  })();
});
await measure('one never reading (buffer 4096)', (tracker) => tracker.subscribe({ bufferSize: 4096 }));

await Promise.all(
  children.map((child) => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    return exited;
  }),
);
