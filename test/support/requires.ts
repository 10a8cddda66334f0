import { describe, it } from 'vitest';

/**
 * A suite that needs something this machine may lack (root, a writable
 * ns_last_pid, setpriv). Where it is missing the suite does not vanish: under
 * CI (CI=true), where everything it needs is installed, it fails with the
 * reason; elsewhere it is skipped with the reason printed.
 */
export function describeWhere(missing: string | undefined, name: string, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it('can run on this machine', () => {
        throw new Error(`${name}: cannot run here: ${missing}`);
      });
    });
    return;
  }
  console.warn(`[skipped] ${name}: ${missing}`);
  describe.skip(name, body);
}
