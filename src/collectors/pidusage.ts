import type pidusage from 'pidusage';
import { OutOfRangeError, ProcessNotFoundError, asError, describeValue } from '../core/errors.js';
import { validateOptions } from '../core/validate.js';
import {
  UNKNOWN_EXTRAS,
  unsupportedTarget,
  type Collector,
  type ProcessSample,
  type SampleOutcome,
  type SampleTarget,
} from '../core/collector-port.js';
import { ErrorCounts, errorCode } from '../core/error-counts.js';
import { abortedError, checkPid } from './sweep.js';

/** The pidusage package, loaded on first use: on Linux the /proc collector is chosen and it is never needed. */
let loaded: Promise<typeof pidusage> | undefined;
const loadPidusage = (): Promise<typeof pidusage> => (loaded ??= import('pidusage').then((module) => module.default));

type PidusageStat = pidusage.Status;

export interface PidusageCollectorOptions {
  /**
   * How far two readings of a start time may differ and still be the same
   * process, ms (default 2000, at most a day). `ps` prints elapsed time in whole seconds, so
   * `timestamp - elapsed` moves by up to a second between samples.
   */
  startTimeToleranceMs?: number;
}

function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ESRCH';
}

/**
 * Collector over the `pidusage` package, for macOS, Windows and the BSDs
 * (it runs `ps`, wmic or PowerShell there). It fills only what pidusage reports:
 * CPU time, RSS and the start time (`timestamp - elapsed`); every other field is null.
 *
 * pidusage reports user + system CPU time as one number (`ctime`) and nothing
 * about reaped children. This collector puts that total in `cpu.user` and
 * reports `cpu.system`, `childrenUser` and `childrenSystem` as 0, so totals and
 * CPU percent are right while the user/system split is not available.
 *
 * Start times read through `ps` have one-second resolution; the first value seen
 * for a pid is kept while later readings stay within `startTimeToleranceMs`, so
 * the identity handed to the tracker does not jitter.
 */
export class PidusageCollector implements Collector {
  private readonly toleranceMs: number;
  private readonly startTimes = new Map<number, number>();
  private readonly errors = new ErrorCounts();

  constructor(options: PidusageCollectorOptions = {}) {
    validateOptions(options, 'options');
    const tolerance = options.startTimeToleranceMs;
    // Past a day, two processes at one pid could no longer be told apart.
    if (tolerance !== undefined && (typeof tolerance !== 'number' || !(tolerance >= 0 && tolerance <= 86_400_000))) {
      throw new OutOfRangeError(`option startTimeToleranceMs must be 0 to 86400000 ms, got ${describeValue(tolerance)}`);
    }
    this.toleranceMs = tolerance ?? 2000;
  }

  async sample(targets: readonly SampleTarget[], signal?: AbortSignal): Promise<SampleOutcome[]> {
    const started = performance.now();
    const pids = [...new Set(targets.filter((target) => !checkPid(target.pid)).map((target) => target.pid))];
    let stats: Record<string, PidusageStat | null | undefined> = {};
    let failure: unknown;
    if (pids.length > 0 && !signal?.aborted) {
      try {
        stats = await untilAborted(
          loadPidusage().then((read) => read(pids)),
          signal,
        );
      } catch (error) {
        failure = error;
      }
    }
    return targets.map((target): SampleOutcome => {
      const unsupported = unsupportedTarget(target);
      if (unsupported) return { ok: false, error: unsupported };
      const invalid = checkPid(target.pid);
      if (invalid) return { ok: false, error: invalid };
      if (signal?.aborted) return { ok: false, error: abortedError(target.pid, signal, performance.now() - started) };
      if (failure !== undefined && !isNotFound(failure)) {
        this.errors.add('pidusage', failure);
        return { ok: false, error: asError(failure) };
      }
      const stat = stats[target.pid];
      if (!stat) return { ok: false, error: new ProcessNotFoundError(target.pid) };
      return this.toOutcome(target, stat);
    });
  }

  release(pid: number): void {
    this.startTimes.delete(pid);
  }

  /** pidusage opens and closes what it reads: nothing is held between sweeps. */
  openFds(): number {
    return 0;
  }

  errorCounts(): ReadonlyMap<string, number> {
    return this.errors.snapshot();
  }

  /**
   * Drops what this collector holds. pidusage's own history is global to the
   * Node process (shared with any other user of the package) and expires by
   * itself, so it is left alone.
   */
  close(): void {
    this.startTimes.clear();
  }

  private toOutcome(target: SampleTarget, stat: PidusageStat): SampleOutcome {
    const { pid } = target;
    let startTime = Math.round(stat.timestamp - stat.elapsed);
    const known = this.startTimes.get(pid);
    if (known !== undefined && Math.abs(known - startTime) <= this.toleranceMs) startTime = known;
    else this.startTimes.set(pid, startTime);
    if (target.startTime && Math.abs(target.startTime - startTime) > this.toleranceMs) {
      return { ok: false, error: new ProcessNotFoundError(pid, 'pid now belongs to another process') };
    }
    const sample: ProcessSample = {
      pid,
      timestamp: stat.timestamp,
      startTime,
      cpu: { user: stat.ctime / 1000, system: 0, childrenUser: 0, childrenSystem: 0 },
      cpusAvailable: null,
      memory: { rss: stat.memory, vms: null, shared: null, swap: null, data: null, stack: null },
      ...UNKNOWN_EXTRAS,
    };
    return { ok: true, sample };
  }
}

/**
 * Settles with `promise`, or rejects with the signal's reason once it fires;
 * pidusage itself cannot be cancelled, so its late result is dropped.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  promise.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the caller's abort reason, passed on as given
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
