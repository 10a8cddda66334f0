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
// `block-probe-window max_ms=... cpu_ms=... max_on_cpu_ms=...`, so that
// start-up and exit stay out of it. A block is wall time: on a busy host it
// includes waiting for a core. So a timer every 10 ms also reads the process's
// CPU time: `cpu_ms` is what the process ran during the longest block (all its
// threads: an upper bound of the event loop's share), and `max_on_cpu_ms` the
// longest block counting only the time the process was running.
const windowFile = process.env.BLOCK_PROBE_WINDOW_FILE;
const inWindow = { max: 0, cpuOfMax: 0, maxOnCpu: 0, opened: false };
if (windowFile !== undefined) {
  const PERIOD_MS = 10;
  let open = false;
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  const sample = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (open) {
      const late = now - last - PERIOD_MS;
      const ran = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
      if (late > inWindow.max) {
        inWindow.max = late;
        inWindow.cpuOfMax = ran;
      }
      inWindow.maxOnCpu = Math.max(inWindow.maxOnCpu, Math.min(late, ran));
    }
    last = now;
    lastCpu = cpu;
  }, PERIOD_MS);
  sample.unref();
  const watch = setInterval(() => {
    const exists = existsSync(windowFile);
    if (exists && !open) {
      open = true;
      inWindow.opened = true;
    } else if (!exists && open) {
      open = false;
      clearInterval(watch);
      clearInterval(sample);
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
  if (windowFile !== undefined && inWindow.opened) {
    const { max, cpuOfMax, maxOnCpu } = inWindow;
    process.stderr.write(
      `block-probe-window max_ms=${max.toFixed(1)} cpu_ms=${cpuOfMax.toFixed(1)} max_on_cpu_ms=${maxOnCpu.toFixed(1)}\n`,
    );
  }
});
