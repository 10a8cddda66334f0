import type { BackoffPolicy } from '../options/run-options.js';

/**
 * Quick exits in a row, counting the one that just happened. `previous` is the
 * count before it; `uptimeMs` how long the child that just exited ran.
 */
export function nextQuickExits(previous: number, uptimeMs: number, policy: BackoffPolicy): number {
  return uptimeMs >= policy.resetAfterMs ? 1 : previous + 1;
}

/** Delay before the next start after `quickExits` quick exits in a row (>= 1): initial x 2^(n-1), capped. */
export function restartDelayMs(quickExits: number, policy: BackoffPolicy): number {
  const doublings = Math.max(0, quickExits - 1);
  // 2^31 already dwarfs any cap; stopping there keeps the arithmetic finite.
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(doublings, 31));
}
