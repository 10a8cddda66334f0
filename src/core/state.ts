/**
 * Lifecycle of a supervised service. Intended flow:
 * stopped -> starting -> running -> stopping -> stopped, with failed reachable
 * from starting or running. The flow is documented, not enforced: supervisors
 * differ, and a tracker that refused a transition would lose information.
 */
export const ProcessState = {
  Stopped: 'stopped',
  Starting: 'starting',
  Running: 'running',
  Stopping: 'stopping',
  Failed: 'failed',
} as const;

export type ProcessState = (typeof ProcessState)[keyof typeof ProcessState];

const STATES: ReadonlySet<string> = new Set(Object.values(ProcessState));

/** Narrows any value to a ProcessState (exact lower-case words only). */
export function isProcessState(value: unknown): value is ProcessState {
  return typeof value === 'string' && STATES.has(value);
}

/** Stopped or failed: the service has no live process. */
export function isTerminal(state: ProcessState): boolean {
  return state === ProcessState.Stopped || state === ProcessState.Failed;
}

/** Starting or running: the service is meant to be up. */
export function isActive(state: ProcessState): boolean {
  return state === ProcessState.Starting || state === ProcessState.Running;
}
