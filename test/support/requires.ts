import { describe, expect, it } from 'vitest';

/**
 * What a suite does when this machine lacks something it needs (root, a
 * writable ns_last_pid, setpriv, prometheus): under CI (CI=true), where
 * everything is installed, a failing test in its place, so it cannot pass by
 * skipping; elsewhere a warning naming what is missing. Always false.
 */
export function unavailable(suite: string, missing: string): false {
  if (process.env['CI'] === 'true') {
    describe(suite, () => {
      it('can run on this machine', () => {
        expect.fail(`${suite}: cannot run here: ${missing}`);
      });
    });
  } else {
    console.warn(`[skipped] ${suite}: ${missing}`);
  }
  return false;
}

/** `describe(name, body)` where nothing is `missing`; otherwise unavailable() and the suite skipped. */
export function describeWhere(missing: string | undefined, name: string, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
    return;
  }
  unavailable(name, missing);
  describe.skip(name, body);
}
