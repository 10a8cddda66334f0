import { CgroupReadError, ProcessNotFoundError, UnsupportedTargetError } from '../../core/errors.js';
import { ProcessState } from '../../core/state.js';
import type { Board } from '../session/board.js';
import type { TrackFn } from '../session/track-queue.js';
import { nextPidFileStep, sameIdentity, type Identity } from './pid-file-rule.js';
import { resolveAll, stillRunning, type Resolution } from './resolve.js';
import { eachInStretches } from '../../collectors/sweep.js';
import type { WatchService } from '../options/target.js';

/** Reads of a pid file that failed while its process ran on: how many, and the latest reason. */
export interface ReadProblems {
  count: number;
  last: string;
}

/**
 * Keeps the tracker pointed at whatever each target resolves to. A pid target
 * is resolved until it is tracked: its process can only exit, which the
 * tracker sees itself.
 * Pid files and patterns are resolved again every interval, so a service
 * restarted by someone else shows up as a restart (new pid, restartCount + 1).
 * Pid files follow nextPidFileStep: a bad read while the process runs on is
 * counted, not a stop.
 *
 * Stopped or failed: the exit status of a process we did not start is never
 * known, so what is left behind decides. A target that has had a process and
 * lost it is `failed` (it should run and does not: a crash, a kill, an emptied
 * cgroup), except a pid file that is gone with its process, which is how a
 * daemon ends an orderly stop: `stopped`. A target that has not had a process
 * since the watch began is `stopped`: nothing has gone missing under our eyes.
 */
export class Watcher {
  readonly #current = new Map<string, Identity>();
  readonly #downReason = new Map<string, string>();
  /** A pid file's new process, seen once while the old one still runs. */
  readonly #pending = new Map<string, Identity>();
  readonly #problems = new Map<string, ReadProblems>();
  /** Services that have had a process since the watch began: losing it is a failure. */
  readonly #seen = new Set<string>();
  /** Services whose new process is being handed to the tracker, and those hand-overs. */
  readonly #following = new Map<string, Promise<void>>();
  /** The kind of each service's target, by name (thousands of services: no search per hand-over). */
  readonly #kinds: ReadonlyMap<string, WatchService['target']['kind']>;
  #timer: NodeJS.Timeout | undefined;
  #busy: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly track: TrackFn,
    private readonly board: Board,
    private readonly services: readonly WatchService[],
    private readonly excluded: ReadonlySet<number>,
    /** Count each process's live descendants in (the tracker's default). */
    private readonly descendants = true,
  ) {
    this.#kinds = new Map(services.map((service) => [service.name, service.target.kind]));
  }

  /** Applies the first resolution (made by the caller while validating) and starts following. */
  async begin(first: ReadonlyMap<string, Resolution>, intervalMs: number): Promise<void> {
    await this.#apply(this.services, first);
    // The first processes are tracked before anything is printed or served.
    await this.#settled();
    if (this.#stopped) return;
    this.#timer = setInterval(() => {
      // A pid is followed by the tracker once tracked: it can only exit, which the tracker sees.
      const moving = this.services.filter((service) => service.target.kind !== 'pid' || !this.#current.has(service.name));
      // (A cgroup target costs nothing to look at here: it is followed again only once the tracker saw it empty.)
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
    await this.#settled();
  }

  async #refresh(services: readonly WatchService[]): Promise<void> {
    const resolutions = await resolveAll(services, this.excluded);
    if (!this.#stopped) await this.#apply(services, resolutions);
  }

  /** Per service, the pid file reads that failed while its process ran on. */
  readProblems(): ReadonlyMap<string, ReadProblems> {
    return this.#problems;
  }

  /**
   * A hand-over to the tracker can take a while on a busy machine (track()
   * retries a first sample that timed out). Only the
   * service concerned waits for it: the others are read again every interval
   * meanwhile, or a restart elsewhere could come and go unseen.
   */
  async #apply(services: readonly WatchService[], resolutions: ReadonlyMap<string, Resolution>): Promise<void> {
    // Thousands of hand-overs at start: in stretches, each a track() call (the tracker reads their first samples together).
    await Promise.all(
      await eachInStretches(services, async ({ name, target }) => {
        const resolution = resolutions.get(name);
        if (resolution === undefined || this.#following.has(name)) return;
        const current = this.#current.get(name);
        if (target.kind === 'cgroup') {
          // The tracker follows a cgroup it tracks; once it has seen it empty, it is looked up again.
          if (current === undefined || !this.board.isLive(name)) await this.#followCgroup(name, target.path);
          return;
        }
        if (target.kind === 'pidfile') {
          const lastAlive = current !== undefined && (await stillRunning(current));
          const step = nextPidFileStep(resolution, current, lastAlive, this.#pending.get(name));
          if (step.action !== 'keep' || step.pending === undefined) this.#pending.delete(name);
          if (step.action === 'keep') {
            if (step.pending !== undefined) this.#pending.set(name, step.pending);
            if (step.problem !== undefined) this.#countProblem(name, step.problem);
          } else if (step.action === 'follow') {
            this.#startFollowing(name, step.identity);
          } else {
            this.#down(name, step.reason, step.removed);
          }
          return;
        }
        if (!resolution.found) {
          // Failing to look is not the process being gone: try again next interval.
          if (resolution.problem !== 'error') this.#down(name, resolution.reason, false);
          return;
        }
        const found = { pid: resolution.pid, startTime: resolution.startTime };
        if (current === undefined || !sameIdentity(current, found)) this.#startFollowing(name, found);
      }),
    );
  }

  #startFollowing(name: string, identity: Identity): void {
    const following = this.#follow(name, identity).finally(() => this.#following.delete(name));
    this.#following.set(name, following);
  }

  /** Until every hand-over started so far has ended. */
  async #settled(): Promise<void> {
    while (this.#following.size > 0) await Promise.all(this.#following.values());
  }

  async #follow(name: string, identity: Identity): Promise<void> {
    // A pid file's process may end in an orderly stop, which only the next read of the file tells
    // (it is removed): the tracker calls the exit stopped, and #down makes it failed if the file stays.
    const kind = this.#kinds.get(name);
    try {
      // The start time rides along: a pid reused before the tracker reads it is refused, not tracked.
      const exitState = kind === 'pidfile' ? 'stopped' : 'failed';
      await this.track(name, identity.pid, {
        startTime: identity.startTime,
        descendants: this.descendants,
        stillWanted: () => !this.#stopped,
        exitState,
      });
      this.#current.set(name, identity);
      this.#seen.add(name);
      this.#downReason.delete(name);
    } catch (error) {
      // Gone between resolving and sampling: it is simply not there (yet).
      if (error instanceof ProcessNotFoundError) this.#down(name, `process ${identity.pid} exited`, false);
      // Anything else (a slow first read) is left for the next interval to try again.
    }
  }

  async #followCgroup(name: string, path: string): Promise<void> {
    try {
      // A cgroup that empties once it had processes is a service that should run and does not: failed.
      await this.track(name, { cgroup: path }, { stillWanted: () => !this.#stopped, exitState: 'failed' });
      this.#current.set(name, { pid: 0, startTime: 0 });
      this.#seen.add(name);
      this.#downReason.delete(name);
    } catch (error) {
      // No such cgroup, no process in it, unreadable (counted by the collector), or a collector
      // without cgroup support: down, with the reason, until that changes.
      if (error instanceof ProcessNotFoundError || error instanceof UnsupportedTargetError || error instanceof CgroupReadError) {
        this.#down(name, error.message, false);
      }
    }
  }

  #countProblem(name: string, reason: string): void {
    const problems = this.#problems.get(name);
    if (problems) {
      problems.count += 1;
      problems.last = reason;
    } else {
      this.#problems.set(name, { count: 1, last: reason });
    }
  }

  /**
   * Reported once per disappearance (and again only if the reason changes), not
   * every interval. `removed`: a pid file gone with its process, an orderly
   * stop, which leaves lastError empty.
   */
  #down(name: string, reason: string, removed: boolean): void {
    const wasUp = this.#current.delete(name);
    if (!wasUp && this.#downReason.get(name) === reason) return;
    this.#downReason.set(name, reason);
    if (removed)
      this.board.setDown(name, ProcessState.Stopped, ''); // an orderly stop is no error
    else this.board.setDown(name, this.#seen.has(name) ? ProcessState.Failed : ProcessState.Stopped, reason);
  }
}
