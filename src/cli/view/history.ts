import type { ProcessMetrics } from '../../core/metrics.js';

/**
 * Recent CPU readings per service, for the sparklines. Only real samples count:
 * a state or health change republishes the last sample, and a stopped service
 * has no reading at all.
 */
export class CpuHistory {
  readonly #values = new Map<string, number[]>();
  readonly #lastSampleAt = new Map<string, number>();

  constructor(readonly capacity = 120) {}

  record(snapshot: ProcessMetrics): void {
    if (snapshot.pid <= 0) return;
    const name = snapshot.serviceName;
    if (this.#lastSampleAt.get(name) === snapshot.cpu.timestamp) return;
    this.#lastSampleAt.set(name, snapshot.cpu.timestamp);
    const values = this.#values.get(name) ?? [];
    values.push(snapshot.cpu.usagePercent);
    if (values.length > this.capacity) values.splice(0, values.length - this.capacity);
    this.#values.set(name, values);
  }

  values(serviceName: string): readonly number[] {
    return this.#values.get(serviceName) ?? [];
  }
}
