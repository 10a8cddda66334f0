// Preloaded into the command by the benchmarks (`node --import`): measures
// how long the event loop was blocked, at most, after a warm-up, and prints it
// on stderr at exit as `block-probe max_ms=... p99_ms=... all_max_ms=...`, the
// last being the longest block since the process started, start-up included.
// With BLOCK_PROBE_LOG=1 it also prints `block-probe-log [[end_ms, block_ms, end_us, loading_ms, wait_ms], ...]`:
// every block over 10 ms with the wall-clock time (Date.now()) it ended, the
// monotonic µs (the clock of a --cpu-prof profile) and how much of it went to
// loading CommonJS code (the OTel SDK, say, imported on first use) and to the
// main thread waiting for a core (see below), so that a benchmark can tell
// which phase of the run each block fell in.
import { closeSync, existsSync, openSync, readSync, readdirSync } from 'node:fs';
import Module from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const whole = monitorEventLoopDelay({ resolution: 10 });
whole.enable();
// Start-up (tracking every service) is left out: it is timed apart.
setTimeout(() => delay.reset(), Number(process.env.BLOCK_PROBE_WARMUP_MS ?? 10_000)).unref();

// With BLOCK_PROBE_WINDOW_FILE, windows the benchmark opens by creating that
// file and closes by removing it, as often as it likes: the longest block
// inside each is printed as `block-probe-window n=1 max_ms=... cpu_ms=...`
// (n counting the windows from 1), so that start-up and exit stay out of it.
// A block is wall time: on a busy host it includes waiting for a core. So a
// timer every 10 ms also reads the process's CPU time: `cpu_ms` is what the
// process ran during the longest block (all its threads: an upper bound of the
// event loop's share), and `max_on_cpu_ms` the longest block counting only the
// time the process was running. Linux also says, per thread, how long it
// waited for a core while runnable (/proc/<pid>/task/<tid>/schedstat):
// `main_wait_ms` is how long the main thread waited so between the samples
// around the longest block, and `max_not_waiting_ms` the longest block less
// the part of such a wait that surely fell in it: what the command itself
// held the loop for, running or blocked in a call, whatever else the host ran.
// `main_run_ms` is how long the main thread ran on a core in that same gap,
// and `helpers_wait_ms` how long the other threads (V8's GC helpers, libuv's
// pool) waited for one: the rest of a block, neither run nor waited, the main
// thread slept, for a GC helper that waited for a core, say, or for I/O.
const windowFile = process.env.BLOCK_PROBE_WINDOW_FILE;
const windows = [];
const TASKS = `/proc/${process.pid}/task`;
const MAIN = String(process.pid);
const schedText = Buffer.alloc(128);
/** A held schedstat's [time on a core, time waiting for one while runnable], ms; null once its thread is gone. */
function readSched(fd) {
  try {
    const [run, wait] = schedText.latin1Slice(0, readSync(fd, schedText, 0, schedText.length, 0)).split(' ');
    return [Number(run) / 1e6, Number(wait) / 1e6];
  } catch {
    return null;
  }
}
function openSched(tid) {
  try {
    return openSync(`${TASKS}/${tid}/schedstat`, 'r');
  } catch {
    return undefined; // no /proc, or the thread is gone
  }
}
// Every schedstat is held open: a sample is then a pread a thread, about 15 us
// for a dozen threads, where opening, reading and closing each file cost about
// 170 us, CPU that the benchmarks would count as the command's.
const mainFd = openSched(MAIN);
/** The main thread's [run, wait] ms ([0, 0] where Linux does not say). */
const mainSched = () => (mainFd === undefined ? null : readSched(mainFd)) ?? [0, 0];
const mainWaitMs = () => mainSched()[1];
/** The other threads (V8's GC helpers, libuv's pool): their held schedstat and the wait read last. */
const helpers = new Map();
/** Follows threads started since the last call, and lets go of those gone. */
function followHelpers() {
  let tids;
  try {
    tids = new Set(readdirSync(TASKS));
  } catch {
    return;
  }
  for (const [tid, helper] of helpers) {
    if (tids.has(tid)) continue;
    closeSync(helper.fd);
    helpers.delete(tid);
  }
  for (const tid of tids) {
    if (tid === MAIN || helpers.has(tid)) continue;
    const fd = openSched(tid);
    if (fd !== undefined) helpers.set(tid, { fd, wait: readSched(fd)?.[1] ?? 0 });
  }
}
/** How long the other threads waited for a core since the last call, summed, ms. */
function helpersWaitSinceMs() {
  let sum = 0;
  for (const helper of helpers.values()) {
    const wait = readSched(helper.fd)?.[1];
    if (wait === undefined) continue;
    sum += wait - helper.wait;
    helper.wait = wait;
  }
  return sum;
}
if (windowFile !== undefined) {
  const PERIOD_MS = 10;
  let open = null;
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let [lastMainRun, lastWait] = mainSched();
  followHelpers();
  setInterval(followHelpers, 1000).unref();
  setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const [mainRun, wait] = mainSched();
    const helpersWaited = helpersWaitSinceMs();
    if (open) {
      const late = now - last - PERIOD_MS;
      const ran = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
      const waited = wait - lastWait;
      if (late > open.max) {
        open.max = late;
        open.cpuOfMax = ran;
        open.waitOfMax = waited;
        open.mainRunOfMax = mainRun - lastMainRun;
        open.helpersWaitOfMax = helpersWaited;
      }
      open.maxOnCpu = Math.max(open.maxOnCpu, Math.min(late, ran));
      // The wait is read over the whole gap between samples, the period
      // included, so only what exceeds the period surely fell in the block:
      // the figure errs towards a longer block, never a shorter one.
      open.maxNotWaiting = Math.max(open.maxNotWaiting, late - Math.max(0, waited - PERIOD_MS));
    }
    last = now;
    lastCpu = cpu;
    lastWait = wait;
    lastMainRun = mainRun;
  }, PERIOD_MS).unref();
  setInterval(() => {
    const exists = existsSync(windowFile);
    if (exists && !open) {
      open = { max: 0, cpuOfMax: 0, maxOnCpu: 0, waitOfMax: 0, maxNotWaiting: 0, mainRunOfMax: 0, helpersWaitOfMax: 0 };
      windows.push(open);
    } else if (!exists && open) open = null;
  }, 100).unref();
}

const log = [];
if (process.env.BLOCK_PROBE_LOG === '1') {
  // Time inside outermost require()s (ESM importing CommonJS goes through it too), ms since the last tick.
  let loadingMs = 0;
  let depth = 0;
  const load = Module._load;
  Module._load = function (...args) {
    if (depth > 0) return load.apply(this, args);
    depth++;
    const started = performance.now();
    try {
      return load.apply(this, args);
    } finally {
      depth--;
      loadingMs += performance.now() - started;
    }
  };
  const PERIOD_MS = 5;
  let last = performance.now();
  let lastWait = mainWaitMs();
  setInterval(() => {
    const now = performance.now();
    const wait = mainWaitMs();
    const late = now - last - PERIOD_MS;
    const round = (ms) => Math.round(ms * 10) / 10;
    if (late > 10)
      log.push([
        Math.round(performance.timeOrigin + now),
        round(late),
        Number(process.hrtime.bigint() / 1000n),
        round(loadingMs),
        round(wait - lastWait), // over the gap between samples, the 5 ms period included
      ]);
    last = now;
    lastWait = wait;
    loadingMs = 0;
  }, PERIOD_MS).unref();
}

process.on('exit', () => {
  const ms = (ns) => (ns / 1e6).toFixed(1);
  process.stderr.write(`block-probe max_ms=${ms(delay.max)} p99_ms=${ms(delay.percentile(99))} all_max_ms=${ms(whole.max)}\n`);
  if (process.env.BLOCK_PROBE_LOG === '1') process.stderr.write(`block-probe-log ${JSON.stringify(log)}\n`);
  for (const [i, { max, cpuOfMax, maxOnCpu, waitOfMax, maxNotWaiting, mainRunOfMax, helpersWaitOfMax }] of windows.entries())
    process.stderr.write(
      `block-probe-window n=${i + 1} max_ms=${max.toFixed(1)} cpu_ms=${cpuOfMax.toFixed(1)} max_on_cpu_ms=${maxOnCpu.toFixed(1)}` +
        ` main_wait_ms=${waitOfMax.toFixed(1)} max_not_waiting_ms=${maxNotWaiting.toFixed(1)}` +
        ` main_run_ms=${mainRunOfMax.toFixed(1)} helpers_wait_ms=${helpersWaitOfMax.toFixed(1)}\n`,
    );
});
