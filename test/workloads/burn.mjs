// Burns CPU at a duty cycle: in each period, spends duty% of it on the CPU (measured
// as CPU time, so a busy machine delays the burn instead of shrinking it), then idles.
// usage: node burn.mjs DUTY_PERCENT [PERIOD_MS]
// IPC: replies to 'usage' with process.cpuUsage() (microseconds); messages are only
// handled between burns, so a reply describes an idle moment.
const duty = Number(process.argv[2] ?? 50);
const periodMs = Number(process.argv[3] ?? 100);
const burnUs = (periodMs * 1000 * duty) / 100;

function cycle() {
  const started = Date.now();
  const before = process.cpuUsage();
  for (;;) {
    const spent = process.cpuUsage(before);
    if (spent.user + spent.system >= burnUs) break;
  }
  setTimeout(cycle, Math.max(0, periodMs - (Date.now() - started)));
}

process.on('message', (message) => {
  if (message === 'usage') process.send({ usage: process.cpuUsage() });
});
process.on('disconnect', () => process.exit(0));
cycle();
process.send('ready');
