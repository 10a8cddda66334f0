/**
 * Demo workload: about 25 % of one core. Each 100 ms it spins for 25 ms and
 * sleeps for the rest, so the load is steady at any sampling interval.
 */
const PERIOD_MS = 100;
const BUSY_MS = 25;

function spin(): void {
  const until = performance.now() + BUSY_MS;
  let x = 0;
  while (performance.now() < until) x = (x + Math.sqrt(x + 1)) % 1e9;
}

setInterval(spin, PERIOD_MS);
