import { ProcessNotFoundError } from '../../domain/errors.js';
import { ProcessState } from '../../domain/state.js';
import type { Board } from '../board.js';
import type { TrackFn } from '../track-queue.js';
import { resolveAll, type Resolution } from './resolve.js';
import type { WatchService } from './target.js';

interface Identity {
  pid: number;
  /** ms since epoch. */
  startTime: number;
}

/**
 * Keeps the tracker pointed at whatever each target resolves to. A pid target
 * is resolved until it is tracked: its process can only exit, which the
 * tracker sees itself.
 * Pid files and patterns are resolved again every interval, so a service
 * restarted by someone else shows up as a restart (new pid, restartCount + 1)
 * and one that is gone as stopped.
 */
export class Watcher {
  readonly #current = new Map<string, Identity>();
  readonly #downReason = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #busy: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly track: TrackFn,
    private readonly board: Board,
    private readonly services: readonly WatchService[],
    private readonly excluded: ReadonlySet<number>,
  ) {}

  /** Applies the first resolution (made by the caller while validating) and starts following. */
  async begin(first: ReadonlyMap<string, Resolution>, intervalMs: number): Promise<void> {
    await this.#apply(this.services, first);
    if (this.#stopped) return;
    this.#timer = setInterval(() => {
      // A pid is followed by the tracker once tracked: it can only exit, which the tracker sees.
      const moving = this.services.filter(
        (service) => service.target.kind !== 'pid' || !this.#current.has(service.name),
      );
      // A slow /proc walk must not pile up behind itself.
      this.#busy ??= this.#refresh(moving).finally(() => {
        this.#busy = undefined;
      });
    }, intervalMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#busy;
  }

  async #refresh(services: readonly WatchService[]): Promise<void> {
    const resolutions = await resolveAll(services, this.excluded);
    if (!this.#stopped) await this.#apply(services, resolutions);
  }

  async #apply(services: readonly WatchService[], resolutions: ReadonlyMap<string, Resolution>): Promise<void> {
    await Promise.all(
      services.map(async ({ name }) => {
        const resolution = resolutions.get(name);
        if (resolution === undefined) return;
        const current = this.#current.get(name);
        if (resolution.found) {
          if (current?.pid === resolution.pid && current.startTime === resolution.startTime) return;
          try {
            // The start time rides along: a pid reused before the tracker reads it is refused, not tracked.
            const { pid, startTime } = resolution;
            await this.track(name, pid, { startTime, stillWanted: () => !this.#stopped });
            this.#current.set(name, { pid, startTime });
            this.#downReason.delete(name);
          } catch (error) {
            // Gone between resolving and sampling: it is simply not there (yet).
            if (error instanceof ProcessNotFoundError) this.#down(name, `process ${resolution.pid} exited`);
            // Anything else (a slow first read) is left for the next interval to try again.
          }
          return;
        }
        // Failing to look is not the process being gone: try again next interval.
        if (resolution.problem === 'error') return;
        this.#down(name, resolution.reason);
      }),
    );
  }

  /** Reported once per disappearance (and again only if the reason changes), not every interval. */
  #down(name: string, reason: string): void {
    const wasUp = this.#current.delete(name);
    if (!wasUp && this.#downReason.get(name) === reason) return;
    this.#downReason.set(name, reason);
    this.board.setDown(name, ProcessState.Stopped, reason);
  }
}
