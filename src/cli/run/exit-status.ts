import { constants } from 'node:os';
import type { RestartPolicy } from '../options/run-options.js';

/** How a child ended: an exit code, a signal, or a failure to start at all. */
export type ExitStatus =
  { kind: 'exited'; code: number } | { kind: 'signaled'; signal: NodeJS.Signals } | { kind: 'spawn-failed'; errno: string };

export function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): ExitStatus {
  return signal !== null ? { kind: 'signaled', signal } : { kind: 'exited', code: code ?? 0 };
}

/** For lastError and messages: `exited with code 3`, `killed by SIGKILL`, `cannot start: ENOENT`. */
export function describeExit(status: ExitStatus): string {
  switch (status.kind) {
    case 'exited':
      return `exited with code ${status.code}`;
    case 'signaled':
      return `killed by ${status.signal}`;
    case 'spawn-failed':
      return `cannot start: ${status.errno}`;
  }
}

/**
 * The exit code procmetrics run passes on, as a shell would: the child's own
 * code, 128 + the signal number when a signal ended it, 127 when the command was
 * not found and 126 when it could not be executed.
 */
export function exitCodeOf(status: ExitStatus): number {
  switch (status.kind) {
    case 'exited':
      return status.code;
    case 'signaled': {
      // NodeJS.Signals names every platform's signals; this platform's table lacks some (SIGINFO on Linux).
      const signals: Partial<Record<NodeJS.Signals, number>> = constants.signals;
      return 128 + (signals[status.signal] ?? 0);
    }
    case 'spawn-failed':
      return status.errno === 'ENOENT' ? 127 : 126;
  }
}

export function isCleanExit(status: ExitStatus): boolean {
  return status.kind === 'exited' && status.code === 0;
}

/**
 * Whether an exit is what stopping with `signal` asked for: a clean exit, death
 * by that signal, or the code a shell or runtime exits with on it (128 + its
 * number). Anything else (SIGKILL after the grace period, another code) is an
 * error worth keeping in lastError.
 */
export function isOrderlyStop(status: ExitStatus, signal: NodeJS.Signals): boolean {
  if (isCleanExit(status)) return true;
  if (status.kind === 'signaled') return status.signal === signal;
  return status.kind === 'exited' && status.code === exitCodeOf({ kind: 'signaled', signal });
}

export function shouldRestart(policy: RestartPolicy, status: ExitStatus): boolean {
  return policy === 'always' || (policy === 'on-failure' && !isCleanExit(status));
}
