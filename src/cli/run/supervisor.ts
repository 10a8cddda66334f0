import type { ProcessTracker } from '../../tracker/types.js';
import type { RunSpec } from '../options/args.js';
import type { Board } from '../session/board.js';
import type { TrackFn } from '../session/track-queue.js';
import { DEFAULT_BACKOFF } from '../options/run-options.js';
import { sweepOrphanCgroups } from './cgroup.js';
import type { ExitStatus } from './exit-status.js';
import { SupervisedService, type ServiceOptions } from './service.js';

/** SIGTERM, then SIGKILL after this: short enough that shutdown stays within 2 s. */
const STOP_GRACE_MS = 1500;

/** Several supervised commands started, watched and stopped together (`run` has one, `demo` three). */
export class Supervisor {
  readonly services: SupervisedService[];

  constructor(specs: readonly RunSpec[], tracker: ProcessTracker, track: TrackFn, board: Board, options: Partial<ServiceOptions> = {}) {
    const full: ServiceOptions = { backoff: DEFAULT_BACKOFF, stopGraceMs: STOP_GRACE_MS, ...options };
    this.services = specs.map((spec) => new SupervisedService(spec, tracker, track, board, full));
  }

  /**
   * Starts every service, after emptying the cgroups that procmetrics
   * processes killed without a chance to clean up left behind.
   */
  async start(): Promise<void> {
    await sweepOrphanCgroups();
    // Limits that cannot be applied refuse the whole run (a UsageError) before anything starts.
    for (const service of this.services) service.prepare();
    for (const service of this.services) service.start();
  }

  /** Resolves when no service will run again: each one's last exit, in order. */
  finished(): Promise<(ExitStatus | undefined)[]> {
    return Promise.all(this.services.map((service) => service.finished));
  }

  /** Stops every service (signal to each group, SIGKILL after the grace period). */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<(ExitStatus | undefined)[]> {
    return Promise.all(this.services.map((service) => service.stop(signal)));
  }

  /** Last resort when shutdown overruns: SIGKILL every group and cgroup now. */
  killAll(): void {
    for (const service of this.services) service.killNow();
  }
}
