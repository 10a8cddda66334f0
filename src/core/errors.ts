/**
 * Errors with a stable `code` a caller can branch on. Argument errors keep the
 * built-in classes (TypeError, RangeError) so `instanceof` works as users expect,
 * and add Node's own codes.
 */

export type ArgumentErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

export class InvalidArgumentTypeError extends TypeError {
  readonly code: ArgumentErrorCode = 'ERR_INVALID_ARG_TYPE';
  override readonly name = 'InvalidArgumentTypeError';
}

export class InvalidArgumentValueError extends TypeError {
  readonly code: ArgumentErrorCode = 'ERR_INVALID_ARG_VALUE';
  override readonly name = 'InvalidArgumentValueError';
}

export class OutOfRangeError extends RangeError {
  readonly code: ArgumentErrorCode = 'ERR_OUT_OF_RANGE';
  override readonly name = 'OutOfRangeError';
}

/** The process does not exist, or the pid now belongs to another process. */
export class ProcessNotFoundError extends Error {
  readonly code = 'ESRCH';
  override readonly name = 'ProcessNotFoundError';
  constructor(
    readonly pid: number,
    detail = 'no such process',
  ) {
    super(`process ${pid}: ${detail}`);
  }
}

/**
 * A cgroup target has no process left, or its directory is gone: for the
 * tracker the same as a process that exited (it is a ProcessNotFoundError,
 * `pid` 0, `code` ESRCH).
 */
export class CgroupNotFoundError extends ProcessNotFoundError {
  constructor(
    readonly cgroup: string,
    detail = 'no such cgroup',
  ) {
    super(0, detail);
    this.message = `cgroup ${cgroup}: ${detail}`;
  }
}

/**
 * A cgroup exists but cannot be read (EACCES on its cgroup.procs, an I/O error,
 * no CPU time in its accounting). Unlike CgroupNotFoundError, retrying at once
 * helps nothing; the `cause` has the system error.
 */
export class CgroupReadError extends Error {
  readonly code = 'ERR_CGROUP_READ';
  override readonly name = 'CgroupReadError';
  constructor(
    readonly cgroup: string,
    detail: string,
    options?: { cause: unknown },
  ) {
    super(`cgroup ${cgroup}: ${detail}`, options);
  }
}

/** The collector cannot read this kind of target (a cgroup, for a collector without cgroup support). */
export class UnsupportedTargetError extends Error {
  readonly code = 'ERR_UNSUPPORTED_TARGET';
  override readonly name = 'UnsupportedTargetError';
}

/**
 * A sample was abandoned because it took longer than its budget. It carries no
 * stack trace (its `stack` is its first line): it is an error of the machine
 * being slow, not of a caller, and a sweep that times out makes one per
 * process not reached, thousands at once, where capturing a stack for each
 * would hold the event loop for tens of ms.
 */
export class CollectionTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  override readonly name = 'CollectionTimeoutError';
  readonly pid: number;
  readonly timeoutMs: number;
  constructor(pid: number, timeoutMs: number) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`process ${pid}: collection timed out after ${timeoutMs} ms`);
    Error.stackTraceLimit = limit;
    this.pid = pid;
    this.timeoutMs = timeoutMs;
  }
}

/** Too many subscribers; the limit is the tracker's `maxSubscribers` option. */
export class SubscriberLimitError extends Error {
  readonly code = 'ERR_SUBSCRIBER_LIMIT';
  override readonly name = 'SubscriberLimitError';
  constructor(readonly limit: number) {
    super(`subscriber limit reached: at most ${limit} subscribers (option maxSubscribers)`);
  }
}

/** Renders a value for an error message: strings quoted, everything else as JS would print it. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}

/** The tracker was closed; create a new one. */
export class TrackerClosedError extends Error {
  readonly code = 'ERR_TRACKER_CLOSED';
  override readonly name = 'TrackerClosedError';
  constructor(operation: string) {
    super(`cannot ${operation}: the tracker is closed`);
  }
}

/** A thrown or rejected value as an Error: itself when it is one, else an Error with its text. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
