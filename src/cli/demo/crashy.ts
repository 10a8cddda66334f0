/**
 * Demo workload: does a little work and crashes (exit 1) after about 20 s,
 * so the demo shows a failure, a restart and a growing restart count.
 */
const LIFETIME_MS = 20_000;

setInterval(() => {
  const until = performance.now() + 5;
  while (performance.now() < until);
}, 200);

setTimeout(() => process.exit(1), LIFETIME_MS);
