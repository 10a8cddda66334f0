import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { ProcessState } from '../../core/state.js';
import type { ProcessTracker } from '../../tracker/types.js';
import type { RunSpec } from '../options/args.js';
import type { Board } from '../session/board.js';
import type { TrackFn } from '../session/track-queue.js';
import { nextQuickExits, restartDelayMs } from './backoff.js';
import type { BackoffPolicy } from '../options/run-options.js';
import { describeExit, exitStatusOf, isCleanExit, isOrderlyStop, shouldRestart, type ExitStatus } from './exit-status.js';
import { UsageError } from '../options/errors.js';
import { formatDuration } from '../options/duration.js';
import { formatBytes } from '../view/format.js';
import { HealthCheck, type HealthVerdict } from './health.js';
import { createCgroup, type CommandCgroup } from './cgroup.js';
import { killGroup } from './process-group.js';

export interface ServiceOptions {
  /** Restart delays when the spec gives none. */
  backoff: BackoffPolicy;
  /** After the stop signal, how long the child gets before SIGKILL, ms. */
  stopGraceMs: number;
  /**
   * The child's stdio. Default: no stdin, stdout and stderr onto our stderr, so
   * that our stdout carries nothing but metrics (--json lines, the live view).
   */
  stdio?: StdioOptions;
  /** Told once when the command cannot have a cgroup of its own, and why. */
  notice?: (text: string) => void;
  /**
   * Where the command's stdout and stderr go instead of our fd 2 (the live
   * view prints them above its table); `stdio` wins over it.
   */
  output?: { write(text: string): void };
  /**
   * Count what the command starts into its figures (default true): from its
   * cgroup where it has one, else as its process tree. False: the command's
   * own process only.
   */
  descendants?: boolean;
}

/**
 * One command under supervision: starts it without a shell, tells the tracker
 * about every start and exit, restarts it per policy, runs its health check.
 *
 * The child leads its own process group, and signals go to the whole group:
 * whatever it started goes down with it, and a Ctrl-C at the terminal reaches
 * it once (through us) rather than twice. Where a cgroup can be made, the
 * child is also born in one of its own, which whatever it starts cannot
 * leave (setsid included): after each exit everything left in it is killed,
 * and it is removed when the service is finished.
 */
export class SupervisedService {
  #child: ChildProcess | undefined;
  /** undefined: not tried yet; null: none could be made (the process group is all there is). */
  #cgroup: CommandCgroup | null | undefined;
  /** The track() of the current child; an exit waits for it so the two never race. */
  #tracking: Promise<void> = Promise.resolve();
  #health: HealthCheck | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #quickExits = 0;
  /** When each restart so far was made, ms since epoch: what --max-restarts counts within its window. */
  #restartTimes: number[] = [];
  /** Failed health checks in a row of the current child. */
  #failedChecks = 0;
  /** The child being restarted because its checks failed, and why: its exit is that restart, not a crash. */
  #healthRestart: { child: ChildProcess; reason: string } | undefined;
  /** The cgroup's OOM-kill count when the current child started. */
  #oomKillsAtStart: number | null = null;
  #stopping = false;
  /** The signal the first stop() sent: an exit by it is the stop we asked for, not an error. */
  #stopSignal: NodeJS.Signals = 'SIGTERM';
  #lastExit: ExitStatus | undefined;
  /** The exit being reported, so stop() can wait for it rather than race it. */
  #exiting: Promise<void> | undefined;
  #finish!: (status: ExitStatus | undefined) => void;
  /** Resolves once the service will not run again, with its last exit. */
  readonly finished: Promise<ExitStatus | undefined> = new Promise((resolve) => {
    this.#finish = resolve;
  });

  constructor(
    readonly spec: RunSpec,
    private readonly tracker: ProcessTracker,
    private readonly track: TrackFn,
    private readonly board: Board,
    private readonly options: ServiceOptions,
  ) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Makes the command's cgroup now when the spec sets limits, so that a limit
   * that cannot be applied is refused before anything starts: a UsageError
   * saying why (no cgroup can be made, no memory or cpu controller).
   */
  prepare(): void {
    if (this.spec.limits === undefined) return;
    const made = createCgroup(this.spec.name, this.spec.limits);
    if ('problem' in made) {
      // A problem of the limits themselves names its flag; one of the cgroup names no flag yet.
      const flags = [this.spec.limits.memoryBytes !== null ? '--memory-max' : '', this.spec.limits.cpuCores !== null ? '--cpu-max' : ''];
      const prefix = made.problem.startsWith('--') ? '' : `${flags.filter((flag) => flag !== '').join(' and ')} cannot be applied: `;
      throw new UsageError(`${prefix}${made.problem}`);
    }
    this.#cgroup = made;
  }

  #backoff(): BackoffPolicy {
    return this.spec.backoff ?? this.options.backoff;
  }

  start(): void {
    if (this.#stopping) return;
    const startedAt = Date.now();
    const output = this.options.stdio === undefined ? this.options.output : undefined;
    const spawnChild = (): ChildProcess =>
      spawn(this.spec.command, this.spec.args, {
        stdio: this.options.stdio ?? (output ? ['ignore', 'pipe', 'pipe'] : ['ignore', 2, 2]),
        detached: true,
        ...(this.spec.env ? { env: { ...process.env, ...this.spec.env } } : {}),
      });
    const cgroup = this.#ownCgroup();
    if (cgroup === null && this.spec.limits !== undefined) {
      // Its cgroup (and with it the limits it was started under) is gone: running unlimited is not what was asked.
      this.board.setDown(this.spec.name, ProcessState.Failed, 'its cgroup is gone: the limits asked for cannot be applied');
      void this.#finishWith(this.#lastExit);
      return;
    }
    this.#failedChecks = 0;
    this.#oomKillsAtStart = cgroup?.oomKills() ?? null;
    let child: ChildProcess;
    try {
      child = cgroup ? cgroup.spawnInside(spawnChild) : spawnChild();
    } catch (error) {
      // Entering the cgroup failed (it was removed under us, a read-only /sys): the group alone will do.
      this.#dropCgroup(error);
      child = spawnChild();
    }
    this.#child = child;
    if (output) {
      for (const stream of [child.stdout, child.stderr]) stream?.setEncoding('utf8').on('data', (text: string) => output.write(text));
    }
    let ended = false;
    const end = (status: ExitStatus): void => {
      if (ended) return;
      ended = true;
      this.#killLeftovers(child);
      this.#exiting = this.#onExit(child, status, Date.now() - startedAt);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      // 'error' also fires for a failed kill(); only a child that never got a pid failed to start.
      if (child.pid === undefined) end({ kind: 'spawn-failed', errno: error.code ?? error.message });
    });
    child.once('exit', (code, signal) => end(exitStatusOf(code, signal)));
    if (child.pid === undefined) return;

    const pid = child.pid;
    // Every start counts, even one whose process is gone before its first sample.
    const stillWanted = (): boolean => this.#child === child && isAlive(child);
    const descendants = this.options.descendants ?? true;
    // Its own v2 cgroup holds everything the command starts and accounts for it exactly
    // (v2 always has cpu.stat); otherwise the process tree is summed from /proc.
    const inCgroup = descendants && this.#cgroup?.version === 2 && this.#cgroup.pids().includes(pid);
    const target = inCgroup && this.#cgroup ? { cgroup: this.#cgroup.target } : pid;
    // With a health check the service is starting until the first check passes: never running before.
    const state = this.spec.health ? 'starting' : 'running';
    this.#tracking = this.track(this.spec.name, target, { stillWanted, countStartIfGone: true, descendants, state }).catch(
      // It exited before its first sample (or we stopped wanting it); the exit handler reports that.
      () => undefined,
    );
    if (this.spec.health) {
      const { argv, intervalMs } = this.spec.health;
      this.#health = new HealthCheck(argv, intervalMs, (verdict) => void this.#onHealth(child, verdict));
      this.#health.start();
    }
  }

  /**
   * Stops for good: no restart, `signal` to the process group, SIGKILL after
   * the grace period. Resolves with the last exit (undefined if it never ran).
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus | undefined> {
    if (!this.#stopping) this.#stopSignal = signal;
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child && isAlive(child)) {
      await this.#tracking;
      this.tracker.updateState(this.spec.name, ProcessState.Stopping);
      killGroupOf(child, signal);
      const timer = setTimeout(() => killGroupOf(child, 'SIGKILL'), this.options.stopGraceMs);
      timer.unref();
      await this.finished;
      clearTimeout(timer);
    } else {
      await this.#exiting;
      await this.#finishWith(this.#lastExit);
    }
    return this.finished;
  }

  /** The service will not run again: its cgroup goes, then `finished` resolves. */
  async #finishWith(status: ExitStatus | undefined): Promise<void> {
    const cgroup = this.#cgroup;
    this.#cgroup = null;
    await cgroup?.remove();
    this.#finish(status);
  }

  /** Sends a signal to the child's process group (not a stop: the policy decides what follows). */
  signal(signal: NodeJS.Signals): void {
    if (this.#child && isAlive(this.#child)) killGroupOf(this.#child, signal);
  }

  /** Last resort on a forced exit: SIGKILL the group and, synchronously, everything in the cgroup. */
  killNow(): void {
    this.signal('SIGKILL');
    this.#cgroup?.signalAll('SIGKILL');
  }

  /** The command's cgroup, if it has one: where its accounting can be read. */
  get cgroup(): CommandCgroup | undefined {
    return this.#cgroup ?? undefined;
  }

  #ownCgroup(): CommandCgroup | null {
    if (this.#cgroup === undefined) {
      const made = createCgroup(this.spec.name, this.spec.limits);
      if ('problem' in made) this.#dropCgroup(made.problem);
      else this.#cgroup = made;
    }
    return this.#cgroup ?? null;
  }

  #dropCgroup(why: unknown): void {
    const reason = typeof why === 'string' ? why : ((why as NodeJS.ErrnoException).code ?? String(why));
    const dropped = this.#cgroup;
    this.#cgroup = null;
    void dropped?.remove();
    this.options.notice?.(
      `${this.spec.name}: no cgroup of its own (${reason}); a process it starts in a new session (setsid) can outlive it`,
    );
  }

  async #onHealth(child: ChildProcess, { healthy, reason }: HealthVerdict): Promise<void> {
    await this.#tracking;
    if (this.#child !== child || !isAlive(child) || this.#healthRestart?.child === child) return;
    this.tracker.updateHealth(this.spec.name, healthy, reason);
    const state = this.tracker.get(this.spec.name)?.state;
    if (healthy && state === ProcessState.Starting) this.tracker.updateState(this.spec.name, ProcessState.Running);
    this.#failedChecks = healthy ? 0 : this.#failedChecks + 1;
    const limit = this.spec.health?.failuresToRestart;
    if (limit !== undefined && this.#failedChecks >= limit && !this.#stopping) this.#restartUnhealthy(child, reason);
  }

  /**
   * Too many failed checks in a row: the child is stopped as stop() would
   * (the stop signal, SIGKILL after the grace period) and its exit restarts
   * it, whatever --restart says. Once per incident: its checks end here.
   */
  #restartUnhealthy(child: ChildProcess, reason: string): void {
    const failures = this.#failedChecks;
    this.#healthRestart = { child, reason: `health check failed ${failures} times in a row (${reason})` };
    this.tracker.countHealthRestart(this.spec.name);
    void this.#health?.stop();
    this.tracker.updateState(this.spec.name, ProcessState.Stopping);
    killGroupOf(child, 'SIGTERM');
    const timer = setTimeout(() => killGroupOf(child, 'SIGKILL'), this.options.stopGraceMs);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }

  /**
   * Runs in the exit event itself, before anything is awaited: the leader was
   * reaped an instant ago, and once the last member of its group is gone its
   * pid (which names the group) can be handed to an unrelated process. So the
   * group is signalled now or never. With a cgroup of its own the group is
   * not used at all: the cgroup names exactly what the command started, and
   * cannot name anything else.
   */
  #killLeftovers(child: ChildProcess): void {
    if (this.#cgroup) this.#cgroup.signalAll('SIGKILL');
    else killGroup(child.pid, 'SIGKILL');
  }

  async #onExit(child: ChildProcess, status: ExitStatus, uptimeMs: number): Promise<void> {
    await this.#health?.stop();
    this.#health = undefined;
    await this.#tracking;
    this.#lastExit = status;
    // Whatever the first pass missed (a fork in flight) dies now: a cgroup cannot be left.
    await this.#cgroup?.empty();
    const name = this.spec.name;
    const healthRestart = this.#healthRestart?.child === child ? this.#healthRestart : undefined;
    this.#healthRestart = undefined;
    const oomKilled = this.#countOomKills();
    // lastError holds errors only: a clean exit, or the exit our own stop asked for, clears it.
    if (this.#stopping) {
      const orderly = isOrderlyStop(status, this.#stopSignal) && !oomKilled;
      this.board.setDown(name, ProcessState.Stopped, orderly ? '' : this.#describe(status, oomKilled));
      await this.#finishWith(status);
      return;
    }
    const wanted = healthRestart !== undefined || shouldRestart(this.spec.restart, status);
    const why = healthRestart?.reason ?? this.#describe(status, oomKilled);
    const clean = isCleanExit(status) && healthRestart === undefined;
    const givingUp = wanted ? this.#restartLimitReached() : undefined;
    if (givingUp !== undefined) {
      this.board.setDown(name, ProcessState.Failed, `${why}; ${givingUp}`);
      await this.#finishWith(status);
      return;
    }
    if (clean) this.board.setDown(name, ProcessState.Stopped, '');
    else this.board.setDown(name, ProcessState.Failed, why);
    if (!wanted) {
      await this.#finishWith(status);
      return;
    }
    this.#restartTimes.push(Date.now());
    const backoff = this.#backoff();
    this.#quickExits = nextQuickExits(this.#quickExits, uptimeMs, backoff);
    this.#restartTimer = setTimeout(() => this.start(), restartDelayMs(this.#quickExits, backoff));
  }

  /**
   * With --max-restarts: why no restart may follow (`gave up after 3 restarts
   * in 5m`), once that many were made within the window; else undefined.
   */
  #restartLimitReached(): string | undefined {
    const limit = this.spec.restartLimit;
    if (limit === undefined) return undefined;
    const since = Date.now() - limit.windowMs;
    this.#restartTimes = this.#restartTimes.filter((at) => at > since);
    if (this.#restartTimes.length < limit.max) return undefined;
    return `gave up after ${limit.max} restart${limit.max === 1 ? '' : 's'} in ${formatDuration(limit.windowMs)}`;
  }

  /**
   * OOM kills in the command's cgroup since the child started: passed to the
   * tracker's counter (the cgroup's own count, which only rises) and returned.
   */
  #countOomKills(): number {
    const total = this.#cgroup?.oomKills() ?? null;
    if (total === null) return 0;
    this.tracker.recordOomKills(this.spec.name, total);
    return Math.max(0, total - (this.#oomKillsAtStart ?? 0));
  }

  /** lastError for an exit: `killed by the OOM killer (memory limit 64.0 MiB)` when it was one. */
  #describe(status: ExitStatus, oomKilled: number): string {
    if (oomKilled === 0) return describeExit(status);
    const limit = this.#cgroup?.limits.memoryBytes ?? null;
    const within = limit === null ? 'out of memory' : `memory limit ${formatBytes(limit)}`;
    if (status.kind === 'signaled' && status.signal === 'SIGKILL') return `killed by the OOM killer (${within})`;
    const others = oomKilled === 1 ? '1 of its processes' : `${oomKilled} of its processes`;
    return `${describeExit(status)}; the OOM killer ended ${others} (${within})`;
  }
}

function isAlive(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * Signals the child's process group only while the child has not been reaped:
 * its pid, and with it the group's id, is then still its own. After the exit
 * event the pid may belong to a stranger.
 */
function killGroupOf(child: ChildProcess, signal: NodeJS.Signals): void {
  if (isAlive(child)) killGroup(child.pid, signal);
}
