/**
 * The workers of a `node:cluster` primary, tracked from inside the primary as
 * they are forked and as they exit. Workers are named by slot, not by
 * worker id: a worker that replaces one that exited takes the lowest free
 * slot, so `web:0` is the same service across its replacements and its
 * restartCount says how often it was replaced.
 */
import type { Cluster, Worker } from 'node:cluster';
import { InvalidArgumentTypeError, ProcessNotFoundError, describeValue } from '../core/errors.js';
import { ProcessState } from '../core/state.js';
import { validateLabels, validateOptions, validateServiceName } from '../core/validate.js';
import { RESERVED_LABEL_NAMES } from '../metrics/prometheus-names.js';
import type { ProcessTracker } from '../tracker/types.js';

/** What is used of `node:cluster` in the primary: its events. */
export type ClusterPrimary = Pick<Cluster, 'on' | 'off'>;

export interface TrackClusterOptions {
  /** The services are `NAME:SLOT` (`web:0`, `web:1`, ...). Required. */
  name: string;
  /** Extra labels of every worker's service (as `TrackOptions.labels`). */
  labels?: Readonly<Record<string, string>>;
}

/** A running tracking of a cluster's workers (see `trackClusterWorkers`). */
export interface ClusterTracking {
  /** The service of each live worker, by worker id. */
  workers(): ReadonlyMap<number, string>;
  /** Track-calls that failed other than by the worker being gone already; each worker is tried once. */
  readonly errors: number;
  /** Stops listening to the cluster; the services stay with the tracker in their last state. */
  stop(): void;
}

interface Slot {
  readonly service: string;
  /** The worker in it now, or undefined while it is free. */
  worker: number | undefined;
  /** Every change of this slot, in the order the cluster reported them. */
  chain: Promise<void>;
}

/**
 * Tracks the workers of `cluster` (the `node:cluster` module, in the primary)
 * in `tracker`: a forked worker takes the lowest free slot and is tracked as
 * `NAME:SLOT` in state `starting` with its process tree, `running` once it is
 * online. A worker that exits with code 0, or because the primary asked it to
 * (`worker.kill()`, `disconnect()`), leaves its slot `stopped`; any other exit
 * leaves it `failed`, with `worker N exited with code C` or
 * `worker N killed by SIGNAL` in lastError. The next worker forked into the
 * slot is a restart of that service.
 */
export function trackClusterWorkers(tracker: ProcessTracker, cluster: ClusterPrimary, options: TrackClusterOptions): ClusterTracking {
  validateOptions(options, 'options');
  validateServiceName(options.name, 'options.name');
  if (typeof (cluster as { on?: unknown } | null)?.on !== 'function' || typeof (cluster as { off?: unknown }).off !== 'function') {
    throw new InvalidArgumentTypeError(`cluster must be node:cluster (with on and off); got ${describeValue(cluster)}`);
  }
  // Checked now rather than on the first fork, where a bad one would only be counted.
  validateServiceName(`${options.name}:0`, 'options.name');
  const labels = options.labels === undefined ? undefined : validateLabels(options.labels, 'options.labels', RESERVED_LABEL_NAMES);
  const slots: Slot[] = [];
  const byWorker = new Map<number, Slot>();
  let errors = 0;

  const onFork = (worker: Worker): void => {
    let slot = slots.find((candidate) => candidate.worker === undefined);
    if (!slot) {
      slot = { service: `${options.name}:${slots.length}`, worker: undefined, chain: Promise.resolve() };
      slots.push(slot);
    }
    slot.worker = worker.id;
    byWorker.set(worker.id, slot);
    const pid = worker.process.pid ?? 0;
    const { service } = slot;
    then(slot, async () => {
      if (pid <= 0) return;
      try {
        // exitState stopped: the tracker may see the exit before the cluster reports it, and the
        // cluster's report (code, signal) then decides, published as a change of state with its reason.
        await tracker.track(service, pid, {
          state: ProcessState.Starting,
          exitState: ProcessState.Stopped,
          countStartIfGone: true,
          ...(labels ? { labels } : {}),
        });
      } catch (error) {
        // A worker gone before its first sample was still started (countStartIfGone): its exit event says how it ended.
        if (!(error instanceof ProcessNotFoundError)) errors += 1;
      }
    });
  };
  const onOnline = (worker: Worker): void => {
    const slot = byWorker.get(worker.id);
    if (slot) then(slot, async () => void tracker.updateState(slot.service, ProcessState.Running));
  };
  const onExit = (worker: Worker, code: number | null, signal: string | null): void => {
    const slot = byWorker.get(worker.id);
    if (!slot) return;
    byWorker.delete(worker.id);
    if (slot.worker === worker.id) slot.worker = undefined;
    const clean = code === 0 || worker.exitedAfterDisconnect;
    const reason = signal ? `worker ${worker.id} killed by ${signal}` : `worker ${worker.id} exited with code ${String(code)}`;
    then(slot, async () => {
      if (clean) tracker.updateState(slot.service, ProcessState.Stopped, '');
      else tracker.updateState(slot.service, ProcessState.Failed, reason);
    });
  };

  cluster.on('fork', onFork);
  cluster.on('online', onOnline);
  cluster.on('exit', onExit);
  return {
    workers: () => new Map([...byWorker].map(([id, slot]) => [id, slot.service])),
    get errors() {
      return errors;
    },
    stop: () => {
      cluster.off('fork', onFork);
      cluster.off('online', onOnline);
      cluster.off('exit', onExit);
    },
  };
}

/** Runs `step` after every earlier change of the slot: a worker's exit is never applied before its track(). */
function then(slot: Slot, step: () => Promise<void>): void {
  slot.chain = slot.chain.then(step).catch(() => undefined);
}
