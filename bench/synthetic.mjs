// A synthetic snapshot of a running service, for the benchmarks of the export path.

const NO_LABELS = Object.freeze({});

/** Service `svc-<i>` at tick `tick`: every field known, counters that move with the tick. */
export function snapshot(i, tick, labels = NO_LABELS) {
  const pid = 1000 + i;
  const cpu = {
    pid,
    timestamp: tick,
    user: i + tick / 100,
    system: i / 2,
    childrenUser: 0,
    childrenSystem: 0,
    startTime: 1,
    usagePercent: 5,
    userPercent: 3,
    systemPercent: 2,
    cpusAvailable: 2,
  };
  const memory = { pid, timestamp: tick, rss: (1 << 20) + tick, vms: 1 << 22, shared: 1, swap: 0, data: 1, stack: 1, usagePercent: 1 };
  return {
    serviceName: `svc-${i}`,
    labels,
    pid,
    state: 'running',
    healthy: true,
    healthError: '',
    restartCount: 0,
    lastError: '',
    cpu,
    memory,
    numFDs: 4,
    numThreads: 2,
    readBytesPerSec: 0,
    writeBytesPerSec: 0,
    readBytes: 1,
    writeBytes: 2,
    voluntaryContextSwitches: 3,
    involuntaryContextSwitches: 4,
    majorFaults: 5,
    minorFaults: 6,
    startTime: 1,
    uptime: 5000 + tick,
    timestamp: tick,
  };
}
