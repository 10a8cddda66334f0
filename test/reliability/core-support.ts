import { readdirSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';

/** `RELIABILITY_FULL=1` runs every scenario at its full size; CI runs the shortened one. */
export const FULL = process.env.RELIABILITY_FULL === '1';

/** The CI size, or the full size under RELIABILITY_FULL=1. */
export function size(ci: number, full: number): number {
  return FULL ? full : ci;
}

/** One line per scenario, so that a run can be quoted in RELIABILITY.md. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  console.log(`[reliability] ${scenario} ${JSON.stringify({ full: FULL, ...figures })}`);
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as (options?: unknown) => void;

/** Heap used after full garbage collections, bytes. */
export function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Fds this process holds now. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A seeded generator (mulberry32), so that a failing fuzz case can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
