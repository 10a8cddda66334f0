/**
 * Following the apps of a running PM2 daemon through PM2's own programmatic
 * API. PM2 is not a dependency of procmetrics: the caller passes the module
 * (`followPm2(tracker, { pm2 })`) or has it installed beside procmetrics, where
 * it is loaded on first use.
 */
import { createConnection } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ProcessNotFoundError, asError, describeValue } from '../core/errors.js';
import { ProcessState } from '../core/state.js';
import { intervalOption, validateLabels, validateOptions } from '../core/validate.js';
import { RESERVED_LABEL_NAMES } from '../metrics/prometheus-names.js';
import type { Tracker } from '../tracker/tracker.js';
import { hasLiveProcess } from '../metrics/metric-table.js';

/** One entry of `pm2.list()`, as far as it is read here. */
export interface Pm2ProcessDescription {
  name?: string;
  pm_id?: number;
  pid?: number;
  pm2_env?: {
    status?: string;
    restart_time?: number;
    exec_mode?: string;
    instances?: number | string;
    /** The name of the variable that holds the instance number (NODE_APP_INSTANCE unless the app set another). */
    instance_var?: string;
    [key: string]: unknown;
  };
}

/** What is used of the `pm2` module: its default export, or an instance of `pm2.custom`. */
export interface Pm2Api {
  connect(callback: (error: Error | null | undefined) => void): void;
  list(callback: (error: Error | null | undefined, list: Pm2ProcessDescription[]) => void): void;
  disconnect(callback?: () => void): void;
  /** The daemon's home (PM2 sets it on every instance). */
  readonly pm2_home?: string;
}

export interface FollowPm2Options {
  /** The `pm2` module (or a `new pm2.custom({ pm2_home })`); default: `import('pm2')`. */
  pm2?: Pm2Api;
  /**
   * The daemon's home when the module is loaded here (default: the PM2_HOME
   * variable, else `~/.pm2`). Ignored when `pm2` is given: it knows its home.
   */
  home?: string;
  /** Time between two reads of PM2's list, ms (default: the tracker's interval). */
  intervalMs?: number;
  /** Extra labels of every app's service (as `TrackOptions.labels`); `pm2_id` and `pm2_app` are added to them. */
  labels?: Readonly<Record<string, string>>;
}

/** A running follow of a PM2 daemon (see `followPm2`). */
export interface Pm2Follow {
  /** The daemon's home, where its socket is. */
  readonly home: string;
  /** The services it keeps in step now, sorted. */
  services(): string[];
  /**
   * Failures counted since it began, by kind: `unreachable` (no daemon
   * answers on the socket), `connect`, `list` (the call failed or took longer
   * than the interval), `track` (an app's process could not be followed).
   * Each is retried at the next poll.
   */
  errorCounts(): ReadonlyMap<string, number>;
  /** One poll now (they also run every interval); false when PM2 could not be read. */
  refresh(): Promise<boolean>;
  /** Stops polling and disconnects. The services stay with the tracker in their last state. */
  stop(): Promise<void>;
}

/** The `pm2` package is not installed where procmetrics can load it. */
export class Pm2NotInstalledError extends Error {
  override readonly name = 'Pm2NotInstalledError';
  readonly code = 'ERR_PROCMETRICS_PM2_NOT_INSTALLED';
  constructor(cause: unknown) {
    super('following PM2 needs the pm2 package, which is not installed: npm install pm2 (or pass options.pm2)', { cause });
  }
}

/** No PM2 daemon answered when the follow began. */
export class Pm2UnreachableError extends Error {
  override readonly name = 'Pm2UnreachableError';
  readonly code = 'ERR_PROCMETRICS_PM2_UNREACHABLE';
  constructor(
    /** The PM2 home whose daemon was asked. */
    readonly home: string,
    cause?: unknown,
  ) {
    const why = cause === undefined ? 'no daemon answers on its socket' : asError(cause).message;
    super(`no PM2 daemon reachable at PM2_HOME ${JSON.stringify(home)}: ${why}`, cause === undefined ? undefined : { cause });
  }
}

/** PM2's status words and the states they are; any other (e.g. `waiting restart`) is on its way up. */
const STATES: Readonly<Record<string, ProcessState>> = {
  online: ProcessState.Running,
  launching: ProcessState.Starting,
  stopping: ProcessState.Stopping,
  stopped: ProcessState.Stopped,
  errored: ProcessState.Failed,
};

/** PM2's status as a procmetrics state. */
export function pm2State(status: string | undefined): ProcessState {
  return (status === undefined ? undefined : STATES[status]) ?? ProcessState.Starting;
}

/**
 * The service name of each entry of PM2's list, in order: `<name>` for an app
 * run once in fork mode; `<name>:<instance>` for an app in cluster mode or with
 * more than one instance, the instance number PM2 gives it (0, 1, ...), so
 * that a restarted instance keeps its name. A second app that PM2 runs under
 * a name already taken is `<name>#<pm_id>`.
 */
export function pm2ServiceNames(list: readonly Pm2ProcessDescription[]): string[] {
  const taken = new Set<string>();
  return list.map((entry) => {
    const base = entry.name ?? `pm2-${entry.pm_id ?? '?'}`;
    const env = entry.pm2_env ?? {};
    const instances = Number(env.instances ?? 1);
    const several = env.exec_mode === 'cluster_mode' || instances > 1;
    const given = env[env.instance_var ?? 'NODE_APP_INSTANCE'];
    const instance = typeof given === 'number' || typeof given === 'string' ? String(given) : String(entry.pm_id ?? '?');
    let name = several ? `${base}:${instance}` : base;
    if (taken.has(name)) name = `${base}#${entry.pm_id ?? '?'}`;
    taken.add(name);
    return name;
  });
}

/**
 * Keeps `tracker` in step with the apps of a running PM2 daemon: every app
 * instance is a service (see `pm2ServiceNames` for the names) tracked as its
 * process tree, with PM2's status as its state (online running, launching
 * starting, stopping, stopped, errored failed) and PM2's `restart_time` as its
 * restartCount; labels `pm2_id` and `pm2_app` say which. An app that leaves
 * PM2's list is untracked. PM2's list is read every `intervalMs`.
 *
 * Never starts a daemon. Rejects with Pm2NotInstalledError when `pm2` is
 * neither given nor installed, and with Pm2UnreachableError when no daemon
 * answers at first; after that a daemon that goes away or a list that fails is
 * counted (`errorCounts()`) and tried again each interval.
 */
export async function followPm2(tracker: Tracker, options: FollowPm2Options = {}): Promise<Pm2Follow> {
  validateOptions(options, 'options');
  const intervalMs = intervalOption(options.intervalMs, 'options.intervalMs', tracker.collectionInterval);
  if (options.home !== undefined && (typeof options.home !== 'string' || options.home === '')) {
    throw new TypeError(`options.home must be a non-empty path; got ${describeValue(options.home)}`);
  }
  const pm2 = options.pm2 ?? (await loadPm2(options.home ?? process.env['PM2_HOME'] ?? join(homedir(), '.pm2')));
  const labels = options.labels === undefined ? {} : validateLabels(options.labels, 'options.labels', RESERVED_LABEL_NAMES);
  const follower = new Pm2Follower(tracker, pm2, intervalMs, labels);
  if (!(await follower.refresh())) {
    await follower.stop();
    throw new Pm2UnreachableError(follower.home, follower.lastError);
  }
  follower.schedule();
  return follower;
}

async function loadPm2(home: string): Promise<Pm2Api> {
  let loaded: { default: Pm2Api & { custom: new (options: { pm2_home: string }) => Pm2Api } };
  try {
    loaded = (await import('pm2')) as unknown as typeof loaded;
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes("'pm2'")) throw new Pm2NotInstalledError(error);
    throw error;
  }
  return new loaded.default.custom({ pm2_home: home });
}

class Pm2Follower implements Pm2Follow {
  readonly home: string;
  /** Why the latest poll could not read PM2, if it could not. */
  lastError: unknown;
  readonly #errors = new Map<string, number>();
  readonly #names = new Set<string>();
  #connected = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<boolean> | undefined;

  constructor(
    private readonly tracker: Tracker,
    private readonly pm2: Pm2Api,
    private readonly intervalMs: number,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    this.home = pm2.pm2_home ?? process.env['PM2_HOME'] ?? join(homedir(), '.pm2');
  }

  services(): string[] {
    return [...this.#names].sort();
  }

  errorCounts(): ReadonlyMap<string, number> {
    return new Map(this.#errors);
  }

  refresh(): Promise<boolean> {
    // One poll at a time: a refresh() during a scheduled poll shares it.
    this.#polling ??= this.#poll().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.refresh().finally(() => this.schedule()), this.intervalMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#polling;
    this.#disconnect();
  }

  async #poll(): Promise<boolean> {
    if (this.#stopped) return false;
    const list = await this.#read();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run during the read
    if (list === undefined || this.#stopped) return false;
    this.lastError = undefined;
    await this.#reconcile(list);
    return true;
  }

  /** PM2's list, or undefined (counted) when it cannot be had this time. */
  async #read(): Promise<Pm2ProcessDescription[] | undefined> {
    const timeoutMs = Math.max(1000, this.intervalMs);
    if (!this.#connected) {
      // pm2.connect() starts a daemon when none answers: ask the socket first, so that following never does.
      if (!(await socketAnswers(join(this.home, 'rpc.sock'), timeoutMs))) {
        this.#failed('unreachable', undefined);
        return undefined;
      }
      try {
        await withTimeout((done) => this.pm2.connect(done), timeoutMs, 'pm2.connect');
        this.#connected = true;
      } catch (error) {
        this.#disconnect();
        this.#failed('connect', error);
        return undefined;
      }
    }
    try {
      return await withTimeout<Pm2ProcessDescription[]>((done) => this.pm2.list(done), timeoutMs, 'pm2.list');
    } catch (error) {
      // The daemon may be gone: connect afresh next time, after asking its socket again.
      this.#disconnect();
      this.#failed('list', error);
      return undefined;
    }
  }

  #failed(kind: string, error: unknown): void {
    this.#count(kind);
    this.lastError = error;
  }

  #count(kind: string): void {
    this.#errors.set(kind, (this.#errors.get(kind) ?? 0) + 1);
  }

  #disconnect(): void {
    if (!this.#connected) return;
    this.#connected = false;
    try {
      this.pm2.disconnect();
    } catch {
      // Already closed: nothing is held any more.
    }
  }

  async #reconcile(list: readonly Pm2ProcessDescription[]): Promise<void> {
    const names = pm2ServiceNames(list);
    const present = new Set(names);
    for (const [index, entry] of list.entries()) {
      const name = names[index] as string;
      try {
        await this.#follow(name, entry);
        this.#names.add(name);
      } catch (error) {
        if (this.#stopped) return;
        // The process ended between PM2's list and our read of it: the next poll sees what PM2 did about it.
        if (!(error instanceof ProcessNotFoundError)) this.#count('track');
      }
    }
    for (const name of this.#names) {
      if (present.has(name)) continue;
      this.tracker.untrack(name);
      this.#names.delete(name);
    }
  }

  async #follow(name: string, entry: Pm2ProcessDescription): Promise<void> {
    const env = entry.pm2_env ?? {};
    const state = pm2State(env.status);
    const restartCount = Math.max(0, Math.trunc(env.restart_time ?? 0));
    const pid = entry.pid ?? 0;
    const current = this.tracker.get(name);
    if ((state === ProcessState.Running || state === ProcessState.Starting) && pid > 0) {
      if (current?.pid === pid && hasLiveProcess(current)) {
        this.tracker.updateState(name, state);
        this.tracker.updateRestartCount(name, restartCount);
        return;
      }
      const labels = { ...this.labels, pm2_id: String(entry.pm_id ?? '?'), pm2_app: entry.name ?? name };
      // PM2 tells whether the end was wanted (stopped) or not (errored, or a restart): the next poll corrects it.
      await this.tracker.track(name, pid, { state, labels, restartCount, exitState: ProcessState.Stopped });
      return;
    }
    const lastError = state === ProcessState.Failed ? `PM2 status ${env.status ?? ''}` : state === ProcessState.Stopped ? '' : undefined;
    if (!this.tracker.updateState(name, state, lastError)) this.tracker.register(name, state, lastError);
    this.tracker.updateRestartCount(name, restartCount);
  }
}

/** Whether something accepts a connection on the Unix socket at `path`. */
function socketAnswers(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const done = (answered: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A PM2 callback call as a promise that gives up after `timeoutMs` (a call to a vanished daemon may never call back). */
function withTimeout<T = void>(
  call: (done: (error: Error | null | undefined, value: T) => void) => void,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} gave no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      call((error, value) => {
        clearTimeout(timer);
        if (error) reject(asError(error));
        else resolve(value);
      });
    } catch (error) {
      clearTimeout(timer);
      reject(asError(error));
    }
  });
}
