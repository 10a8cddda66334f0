import { ProcessNotFoundError, type Collector, type ProcessCPU, type ProcessMemory } from '../../src/index.js';

/** A process as the fake collector sees it; CPU in seconds, memory in bytes. */
export interface FakeProcess {
  user: number;
  system: number;
  rss: number;
  /** ms since epoch; 0 = unknown. */
  startTime: number;
}

/**
 * A collector over an in-memory process table, for behaviour that real
 * processes cannot be made to show on demand: a hang, a failure, a recycled pid.
 * Each method can be made to wait on a gate the test opens.
 */
export class FakeCollector implements Collector {
  readonly processes = new Map<number, FakeProcess>();
  readonly calls: { method: 'cpu' | 'memory'; pid: number }[] = [];
  /** pids whose calls never settle. */
  readonly hanging = new Set<number>();
  /** When set, every call waits for it first. */
  gate: Promise<void> | undefined;
  inFlight = 0;
  maxInFlight = 0;

  add(pid: number, process: Partial<FakeProcess> = {}): FakeProcess {
    const entry = { user: 0, system: 0, rss: 1024, startTime: 0, ...process };
    this.processes.set(pid, entry);
    return entry;
  }

  callsFor(pid: number): number {
    return this.calls.filter((call) => call.pid === pid).length;
  }

  async collectCPU(pid: number): Promise<ProcessCPU> {
    const p = await this.#read('cpu', pid);
    return {
      pid,
      timestamp: Date.now(),
      user: p.user,
      system: p.system,
      childrenUser: 0,
      childrenSystem: 0,
      startTime: p.startTime,
      usagePercent: 0,
      userPercent: 0,
      systemPercent: 0,
      cpusAvailable: null,
    };
  }

  async collectMemory(pid: number): Promise<ProcessMemory> {
    const p = await this.#read('memory', pid);
    return { pid, timestamp: Date.now(), rss: p.rss, vms: null, shared: null, swap: null, data: null, stack: null, usagePercent: 0 };
  }

  async #read(method: 'cpu' | 'memory', pid: number): Promise<FakeProcess> {
    this.calls.push({ method, pid });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.hanging.has(pid)) await new Promise(() => {});
      if (this.gate) await this.gate;
      const p = this.processes.get(pid);
      if (!p) throw new ProcessNotFoundError(pid);
      return { ...p };
    } finally {
      this.inFlight -= 1;
    }
  }
}

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
