import { execFileSync } from 'node:child_process';
import { accessSync, appendFileSync, constants } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The file (set by global-setup.ts) where each suite that cannot run here writes a line, listed at the end of the run. */
export const SKIP_LOG = 'PROCMETRICS_SKIP_LOG';

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
    const log = process.env[SKIP_LOG];
    if (log !== undefined) appendFileSync(log, `${suite}: ${missing}\n`);
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

/** `it(name, body)` where nothing is `missing`; otherwise unavailable() and the test skipped. */
export function itWhere(missing: string | undefined, name: string, body: () => Promise<void> | void, timeoutMs?: number): void {
  if (missing === undefined) {
    it(name, body, timeoutMs);
    return;
  }
  unavailable(name, missing);
  it.skip(name, body);
}

/** The file whose value is the last pid handed out: written to make the next process get a chosen pid. */
export const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

/** What the machine lacks to hand a chosen pid to the next process (root and a writable ns_last_pid), or undefined. */
export function missingForPidSteering(): string | undefined {
  if (process.getuid?.() !== 0) return `needs root, to write ${NS_LAST_PID}`;
  try {
    accessSync(NS_LAST_PID, constants.W_OK);
    return undefined;
  } catch {
    return `needs a writable ${NS_LAST_PID}`;
  }
}

/** What the machine lacks to give a command a terminal (util-linux `script`: stdout.isTTY is true there), or undefined. */
export function missingScript(): string | undefined {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs script (util-linux), to give the command a terminal';
  }
}
