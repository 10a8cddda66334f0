// Tracks processes while this process has no fd left (run it under a low
// `ulimit -n`), then frees them; prints what the tracker made of it as JSON.
// usage: node fd-starved.mjs SERVICES  (imports the built library from dist/)
import { closeSync, openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcfsCollector, Tracker } from '../../dist/index.js';

const services = Number(process.argv[2] ?? 100);
const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
// maxOpenFds 0: every read opens its files, so every read needs a free fd.
const tracker = new Tracker(new ProcfsCollector({ maxOpenFds: 0 }), { collectionInterval: 200, meterProvider: null });
for (let i = 0; i < services; i++) await tracker.track(`svc-${i}`, i % 2 === 0 ? child.pid : process.pid);

async function ticks(count) {
  const target = tracker.stats().ticks + count;
  while (tracker.stats().ticks < target) await sleep(20);
}
const view = () => ({
  states: [...new Set(tracker.getAll().map((m) => m.state))],
  pids: [...new Set(tracker.getAll().map((m) => m.pid))].length,
  stats: tracker.stats(),
  errorCounts: Object.fromEntries(tracker.collectorErrorCounts()),
});

tracker.start();
await ticks(1);
const filler = [];
let fillError;
try {
  for (;;) filler.push(openSync('/dev/null', 'r'));
} catch (error) {
  fillError = error.code;
}
let lateTrack = 'tracked';
try {
  await tracker.track('late', child.pid);
} catch (error) {
  lateTrack = `${error.name}:${error.code}`;
}
await ticks(3);
const starved = view();
for (const fd of filler) closeSync(fd);
await ticks(3);
const recovered = view();
await tracker.close();
child.kill('SIGKILL');
console.log(JSON.stringify({ fillError, lateTrack, starved, recovered }));
