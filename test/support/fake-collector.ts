import {
  ProcessNotFoundError,
  ProcfsCollector,
  type Collector,
  type ProcessSample,
  type SampleOutcome,
  type SampleTarget,
} from '../../src/index.js';

/**
 * The production collector (/proc) with hooks for what real processes cannot
 * be made to show on demand: a sweep held at a gate, a hang, a throw, a wrong
 * answer. The data it returns is real.
 */
export class GatedCollector implements Collector {
  readonly inner = new ProcfsCollector();
  readonly sweeps: SampleTarget[][] = [];
  readonly released: number[] = [];
  /** When set, every sweep waits for it first. */
  gate: Promise<void> | undefined;
  /** Sweeps that include one of these pids never settle. */
  readonly hanging = new Set<number>();
  /** When set, every sweep rejects with it. */
  throws: Error | undefined;
  /** Return one outcome too few. */
  wrongLength = false;
  inFlight = 0;
  maxInFlight = 0;

  sweepsOf(pid: number): number {
    return this.sweeps.filter((targets) => targets.some((t) => t.pid === pid)).length;
  }

  async sample(targets: readonly SampleTarget[], signal?: AbortSignal): Promise<SampleOutcome[]> {
    this.sweeps.push([...targets]);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (targets.some((t) => this.hanging.has(t.pid))) await new Promise(() => {});
      if (this.gate) await this.gate;
      if (this.throws) throw this.throws;
      const outcomes = await this.inner.sample(targets, signal);
      return this.wrongLength ? outcomes.slice(1) : outcomes;
    } finally {
      this.inFlight -= 1;
    }
  }

  release(pid: number): void {
    this.released.push(pid);
    this.inner.release(pid);
  }

  close(): void {
    this.inner.close();
  }
}

/** A process as the table collector sees it; CPU in seconds, memory in bytes. */
export interface FakeProcess {
  user: number;
  system: number;
  rss: number;
  /** ms since epoch; 0 = unknown. */
  startTime: number;
}

/**
 * A batch collector over an in-memory process table, for arithmetic that needs
 * exact numbers (CPU seconds, start times) and for a pid handed to another
 * process on demand.
 */
export class TableCollector implements Collector {
  readonly processes = new Map<number, FakeProcess>();
  sweeps = 0;

  add(pid: number, process: Partial<FakeProcess> = {}): FakeProcess {
    const entry = { user: 0, system: 0, rss: 1024, startTime: 0, ...process };
    this.processes.set(pid, entry);
    return entry;
  }

  async sample(targets: readonly SampleTarget[]): Promise<SampleOutcome[]> {
    this.sweeps += 1;
    return targets.map((t): SampleOutcome => {
      const p = this.processes.get(t.pid);
      if (!p || (t.startTime !== undefined && p.startTime !== 0 && t.startTime !== p.startTime)) {
        return { ok: false, error: new ProcessNotFoundError(t.pid) };
      }
      return { ok: true, sample: sampleOf(t.pid, p) };
    });
  }
}

function sampleOf(pid: number, p: FakeProcess): ProcessSample {
  return {
    pid,
    timestamp: Date.now(),
    startTime: p.startTime,
    cpu: { user: p.user, system: p.system, childrenUser: 0, childrenSystem: 0 },
    cpusAvailable: 2,
    memory: { rss: p.rss, vms: 2 * p.rss, shared: 0, swap: 0, data: 0, stack: 0 },
    numThreads: 3,
    numFDs: 4,
    readBytes: 100,
    writeBytes: 200,
    voluntaryContextSwitches: 5,
    involuntaryContextSwitches: 6,
    majorFaults: 7,
    minorFaults: 8,
  };
}

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
