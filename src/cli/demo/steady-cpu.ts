/**
 * Demo workload: a steady 25 % of one core. Every 50 ms it spins until its own
 * CPU time (process.cpuUsage, what /proc reports) catches up with 25 % of the
 * wall time so far. Measuring CPU rather than wall time keeps the share right
 * on a busy machine, where a spin loop is often not on a core at all.
 */
const SHARE = 0.25;
const TICK_MS = 50;
/** After a long stall (a suspended laptop), do not burn a whole core catching up. */
const MAX_SPIN_MS = 100;

const startedMs = performance.now();
const cpuAtStart = process.cpuUsage();
const cpuMs = (): number => {
  const { user, system } = process.cpuUsage(cpuAtStart);
  return (user + system) / 1000;
};

setInterval(() => {
  const targetMs = SHARE * (performance.now() - startedMs);
  const spinFrom = performance.now();
  let x = 0;
  while (cpuMs() < targetMs && performance.now() - spinFrom < MAX_SPIN_MS) {
    for (let i = 0; i < 1000; i++) x = (x + Math.sqrt(x + i)) % 1e9;
  }
}, TICK_MS);
