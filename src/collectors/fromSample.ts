import type { ProcessCPU, ProcessMemory } from '../domain/metrics.js';
import type { ProcessSample } from '../tracker/collector.js';

/**
 * The seed's single-process view of a sample. Percentages are 0: only the
 * tracker, holding two samples of the same instance, can compute them.
 */
export function cpuFromSample(sample: ProcessSample): ProcessCPU {
  return {
    pid: sample.pid,
    timestamp: sample.timestamp,
    ...sample.cpu,
    startTime: sample.startTime,
    usagePercent: 0,
    userPercent: 0,
    systemPercent: 0,
    cpusAvailable: sample.cpusAvailable,
  };
}

/** Memory of a sample; `usagePercent` is rss / total RAM x 100, 0 when total RAM is unknown (0). */
export function memoryFromSample(sample: ProcessSample, memTotalBytes: number): ProcessMemory {
  return {
    pid: sample.pid,
    timestamp: sample.timestamp,
    ...sample.memory,
    usagePercent: memTotalBytes > 0 ? (sample.memory.rss / memTotalBytes) * 100 : 0,
  };
}
