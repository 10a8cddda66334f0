import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { CgroupReadError, ProcessNotFoundError, TrackerClosedError, UnsupportedTargetError } from '../../core/errors.js';
import type { CgroupTarget, ProcessTracker, TrackOptions } from '../../tracker/types.js';

export interface TrackRequest extends Pick<TrackOptions, 'startTime' | 'countStartIfGone' | 'state' | 'exitState' | 'descendants'> {
  /** Retries stop once this says no. */
  stillWanted?: () => boolean;
}

/** Starts tracking a pid or a cgroup as `serviceName`; rejects with ProcessNotFoundError when it is gone, CgroupReadError when unreadable. */
export type TrackFn = (serviceName: string, target: number | CgroupTarget, request?: TrackRequest) => Promise<void>;

/** Read failures that pass as fds or memory are freed; the others (EACCES, ...) last. */
const PASSING = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'EAGAIN', 'EINTR']);

/**
 * A cgroup that cannot be read for good (no permission) is not retried: the
 * queue would hold up every other service behind it. The caller tries again
 * later (the watcher, every interval).
 */
function passing(error: CgroupReadError): boolean {
  return PASSING.has(String((error.cause as NodeJS.ErrnoException | undefined)?.code));
}

const FIRST_RETRY_MS = 25;
const MAX_RETRY_MS = 1000;

/**
 * track() calls, each retried until it succeeds, the process is gone, or the
 * caller no longer wants it. A first sample can time out on a busy machine
 * (its budget is half the interval); a service that lost it would otherwise
 * never be tracked. Calls for one service run one at a time, in the order
 * made, so a retry of an older process never wins over a newer one; calls for
 * different services run together, and the tracker reads the first samples
 * of a burst of them (a config of thousands of services at start) in one
 * sweep, whose targets not reached within the budget are retried together.
 */
export function trackQueue(tracker: ProcessTracker, labelsOf: (serviceName: string) => Readonly<Record<string, string>>): TrackFn {
  const tails = new Map<string, Promise<unknown>>();
  return (serviceName, target, { stillWanted = () => true, ...options } = {}) => {
    const attempt = async (): Promise<void> => {
      // A chain of track() calls that each settle at once would otherwise run as one
      // stretch of microtasks: no signal, timer or scrape between them for minutes.
      await nextTurn();
      for (let delayMs = FIRST_RETRY_MS; ; delayMs = Math.min(MAX_RETRY_MS, delayMs * 2)) {
        try {
          await tracker.track(serviceName, target, { ...options, labels: labelsOf(serviceName) });
          return;
        } catch (error) {
          const final =
            error instanceof ProcessNotFoundError ||
            error instanceof TrackerClosedError ||
            error instanceof UnsupportedTargetError ||
            (error instanceof CgroupReadError && !passing(error));
          if (final || !stillWanted()) throw error;
        }
        await sleep(delayMs);
      }
    };
    const result = (tails.get(serviceName) ?? Promise.resolve()).then(attempt);
    const tail = result.catch(() => undefined);
    tails.set(serviceName, tail);
    void tail.then(() => {
      if (tails.get(serviceName) === tail) tails.delete(serviceName);
    });
    return result;
  };
}
