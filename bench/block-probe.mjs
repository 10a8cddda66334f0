// Preloaded into the command by bench/ab-command.mjs (`node --import`): measures
// how long the event loop was blocked, at most, after a warm-up, and prints it
// on stderr at exit as `block-probe max_ms=... p99_ms=... all_max_ms=...`, the
// last being the longest block since the process started, start-up included.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const whole = monitorEventLoopDelay({ resolution: 10 });
whole.enable();
// Start-up (tracking every service) is left out: it is timed apart.
setTimeout(() => delay.reset(), Number(process.env.BLOCK_PROBE_WARMUP_MS ?? 10_000)).unref();
process.on('exit', () => {
  const ms = (ns) => (ns / 1e6).toFixed(1);
  process.stderr.write(`block-probe max_ms=${ms(delay.max)} p99_ms=${ms(delay.percentile(99))} all_max_ms=${ms(whole.max)}\n`);
});
