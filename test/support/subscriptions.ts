// Reading a tracker's subscription in tests.
import type { ProcessMetrics, Subscription } from '../../src/index.js';

/**
 * The next `count` snapshots of a subscription, fewer if it ends first. Reads
 * with next() alone, so the subscription stays open for more reads.
 */
export async function drain(sub: Subscription, count: number): Promise<ProcessMetrics[]> {
  const it = sub[Symbol.asyncIterator]();
  const out: ProcessMetrics[] = [];
  for (let i = 0; i < count; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** The first snapshot that matches; throws if the subscription ends before one does. */
export async function nextMatching(sub: Subscription, match: (m: ProcessMetrics) => boolean): Promise<ProcessMetrics> {
  for await (const m of sub) if (match(m)) return m;
  throw new Error('subscription ended');
}
