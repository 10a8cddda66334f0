import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { ProcessState } from '../../core/state.js';
import type { ProcessTracker } from '../../tracker/types.js';
import type { RunSpec } from '../options/args.js';
import type { Board } from '../session/board.js';
import type { TrackFn } from '../session/track-queue.js';
import { nextQuickExits, restartDelayMs, type BackoffPolicy } from './backoff.js';
import { describeExit, exitStatusOf, isCleanExit, isOrderlyStop, shouldRestart, type ExitStatus } from './exit-status.js';
import { HealthCheck, type HealthVerdict } from './health.js';
import { createCgroup, type CommandCgroup } from './cgroup.js';
import { killGroup } from './process-group.js';

export interface ServiceOptions {
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
      const made = createCgroup(this.spec.name);
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
    if (this.#child !== child || !isAlive(child)) return;
    this.tracker.updateHealth(this.spec.name, healthy, reason);
    const state = this.tracker.get(this.spec.name)?.state;
    if (healthy && state === ProcessState.Starting) this.tracker.updateState(this.spec.name, ProcessState.Running);
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
    // lastError holds errors only: a clean exit, or the exit our own stop asked for, clears it.
    if (this.#stopping) {
      this.board.setDown(name, ProcessState.Stopped, isOrderlyStop(status, this.#stopSignal) ? '' : describeExit(status));
      await this.#finishWith(status);
      return;
    }
    if (isCleanExit(status)) this.board.setDown(name, ProcessState.Stopped, '');
    else this.board.setDown(name, ProcessState.Failed, describeExit(status));
    if (!shouldRestart(this.spec.restart, status)) {
      await this.#finishWith(status);
      return;
    }
    this.#quickExits = nextQuickExits(this.#quickExits, uptimeMs, this.options.backoff);
    this.#restartTimer = setTimeout(() => this.start(), restartDelayMs(this.#quickExits, this.options.backoff));
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
