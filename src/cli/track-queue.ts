import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessNotFoundError, TrackerClosedError } from '../domain/errors.js';
import type { ProcessTracker } from '../tracker/types.js';

/** Starts tracking `pid` as `serviceName`; rejects with ProcessNotFoundError when it is gone. */
export type TrackFn = (serviceName: string, pid: number, stillWanted?: () => boolean) => Promise<void>;

const FIRST_RETRY_MS = 25;
const MAX_RETRY_MS = 1000;

/**
 * track() calls one at a time, each retried until it succeeds, the process is
 * gone, or the caller no longer wants it. The tracker reads one batch at a
 * time and fails a track() that arrives while a tick (or another track) is
 * reading; several services starting together would otherwise lose their
 * first sample and never be tracked.
 */
export function trackQueue(tracker: ProcessTracker): TrackFn {
  let tail: Promise<unknown> = Promise.resolve();
  return (serviceName, pid, stillWanted = () => true) => {
    const attempt = async (): Promise<void> => {
      for (let delayMs = FIRST_RETRY_MS; ; delayMs = Math.min(MAX_RETRY_MS, delayMs * 2)) {
        try {
          await tracker.track(serviceName, pid);
          return;
        } catch (error) {
          const final = error instanceof ProcessNotFoundError || error instanceof TrackerClosedError;
          if (final || !stillWanted()) throw error;
        }
        await sleep(delayMs);
      }
    };
    const result = tail.then(attempt);
    tail = result.catch(() => undefined);
    return result;
  };
}
