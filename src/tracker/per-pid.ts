import { CollectionTimeoutError, ProcessNotFoundError, asError } from '../core/errors.js';
import type { ProcessCPU, ProcessMemory } from '../core/metrics.js';
import { ErrorCounts } from '../core/error-counts.js';
import {
  UNKNOWN_EXTRAS,
  unsupportedTarget,
  type Collector,
  type PerPidCollector,
  type ProcessSample,
  type SampleOutcome,
  type SampleTarget,
} from '../core/collector-port.js';

type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * Serves a two-method collector through the batch port. Each target is read
 * by its own pair of calls, so one hung pid costs only its own sample: when
 * `signal` fires, the pids still pending get a timeout and the rest their
 * values. A pid whose last calls never settled is not called again until they
 * do, so a hung collector cannot pile up work tick after tick.
 */
export function perPidCollector(inner: PerPidCollector): Collector {
  const pending = new Set<number>();
  const errors = new ErrorCounts();

  async function sampleOne(target: SampleTarget, signal: AbortSignal | undefined, startedMs: number): Promise<SampleOutcome> {
    const { pid } = target;
    const unsupported = unsupportedTarget(target);
    if (unsupported) return { ok: false, error: unsupported };
    if (pending.has(pid)) return { ok: false, error: new CollectionTimeoutError(pid, 0) };
    pending.add(pid);
    const halves = Promise.all([settle(() => inner.collectCPU(pid, signal)), settle(() => inner.collectMemory(pid, signal))]);
    void halves.finally(() => pending.delete(pid));
    const result = await untilAborted(halves, signal);
    if (result === undefined) {
      return { ok: false, error: new CollectionTimeoutError(pid, Math.round(performance.now() - startedMs)) };
    }
    const [cpu, memory] = result;
    if (cpu.ok && !memory.ok && !(memory.error instanceof ProcessNotFoundError)) errors.add('memory', memory.error);
    return combineHalves(target, cpu, memory);
  }

  return {
    sample(targets, signal) {
      const startedMs = performance.now();
      return Promise.all(targets.map((target) => sampleOne(target, signal, startedMs)));
    },
    release: inner.release ? (pid) => inner.release?.(pid) : undefined,
    errorCounts() {
      const own = errors.snapshot();
      const theirs = inner.errorCounts?.() ?? new Map<string, number>();
      return new Map([...theirs, ...own]);
    },
    close: () => inner.close?.(),
  };
}

/** Whether `value` has the batch `sample` method of the port. */
export function isBatchCollector(value: Collector | PerPidCollector): value is Collector {
  return typeof (value as Partial<Collector>).sample === 'function';
}

async function settle<T>(run: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error: asError(error) };
  }
}

/** The promise's value, or undefined once `signal` fires first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}

/**
 * One sample from the two halves. A process reported gone by either half is
 * gone; otherwise the CPU half is required (without it no rate can be
 * computed) and a failed memory half leaves memory unknown.
 */
function combineHalves(target: SampleTarget, cpu: Settled<ProcessCPU>, memory: Settled<ProcessMemory>): SampleOutcome {
  for (const half of [cpu, memory]) {
    if (!half.ok && half.error instanceof ProcessNotFoundError) return { ok: false, error: half.error };
  }
  if (!cpu.ok) return { ok: false, error: cpu.error };
  const c = cpu.value;
  const m = memory.ok ? memory.value : undefined;
  // Identity (the start time against the target's) is the tracker's check, with its tolerance.
  const sample: ProcessSample = {
    pid: target.pid,
    timestamp: c.timestamp || Date.now(),
    startTime: c.startTime,
    cpu: { user: c.user, system: c.system, childrenUser: c.childrenUser, childrenSystem: c.childrenSystem },
    cpusAvailable: c.cpusAvailable ?? null,
    memory: m
      ? { rss: m.rss, vms: m.vms, shared: m.shared, swap: m.swap, data: m.data, stack: m.stack }
      : { rss: 0, vms: null, shared: null, swap: null, data: null, stack: null },
    ...UNKNOWN_EXTRAS,
  };
  return { ok: true, sample };
}
