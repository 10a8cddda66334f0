// Preloaded into the command by the benchmarks (`node --import`): measures
// how long the event loop was blocked, at most, after a warm-up, and prints it
// on stderr at exit as `block-probe max_ms=... p99_ms=... all_max_ms=...`, the
// last being the longest block since the process started, start-up included.
// With BLOCK_PROBE_LOG=1 it also prints `block-probe-log [[end_ms, block_ms, end_us, loading_ms], ...]`:
// every block over 10 ms with the wall-clock time (Date.now()) it ended, the
// monotonic µs (the clock of a --cpu-prof profile) and how much of it went to
// loading CommonJS code (the OTel SDK, say, imported on first use), so that a
// benchmark can tell which phase of the run each block fell in.
import { existsSync } from 'node:fs';
import Module from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const whole = monitorEventLoopDelay({ resolution: 10 });
whole.enable();
// Start-up (tracking every service) is left out: it is timed apart.
setTimeout(() => delay.reset(), Number(process.env.BLOCK_PROBE_WARMUP_MS ?? 10_000)).unref();

// With BLOCK_PROBE_WINDOW_FILE, a window the benchmark opens by creating that
// file and closes by removing it: the longest block inside it is printed as
// `block-probe-window max_ms=...`, so that start-up and exit stay out of it.
const windowFile = process.env.BLOCK_PROBE_WINDOW_FILE;
let windowMaxMs;
if (windowFile !== undefined) {
  const inWindow = monitorEventLoopDelay({ resolution: 10 });
  let open = false;
  const watch = setInterval(() => {
    const exists = existsSync(windowFile);
    if (exists && !open) {
      open = true;
      inWindow.enable();
    } else if (!exists && open) {
      inWindow.disable();
      windowMaxMs = inWindow.max / 1e6;
      clearInterval(watch);
    }
  }, 100);
  watch.unref();
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
  setInterval(() => {
    const now = performance.now();
    const late = now - last - PERIOD_MS;
    const round = (ms) => Math.round(ms * 10) / 10;
    if (late > 10)
      log.push([Math.round(performance.timeOrigin + now), round(late), Number(process.hrtime.bigint() / 1000n), round(loadingMs)]);
    last = now;
    loadingMs = 0;
  }, PERIOD_MS).unref();
}

process.on('exit', () => {
  const ms = (ns) => (ns / 1e6).toFixed(1);
  process.stderr.write(`block-probe max_ms=${ms(delay.max)} p99_ms=${ms(delay.percentile(99))} all_max_ms=${ms(whole.max)}\n`);
  if (process.env.BLOCK_PROBE_LOG === '1') process.stderr.write(`block-probe-log ${JSON.stringify(log)}\n`);
  if (windowFile !== undefined)
    process.stderr.write(`block-probe-window max_ms=${windowMaxMs === undefined ? '-' : windowMaxMs.toFixed(1)}\n`);
});
