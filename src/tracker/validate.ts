import {
  InvalidArgumentTypeError,
  InvalidArgumentValueError,
  OutOfRangeError,
  describeValue,
} from '../domain/errors.js';
import { ProcessState, isProcessState } from '../domain/state.js';

/** Longest service name accepted, in characters (code points). */
export const MAX_SERVICE_NAME_LENGTH = 256;

/** setTimeout fires at once for delays above this, so longer intervals cannot be honoured. */
const MAX_TIMER_MS = 2 ** 31 - 1;

// C0 and C1 control characters, DEL included: they break log lines and label values.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export function validateServiceName(name: unknown, argument = 'serviceName'): asserts name is string {
  if (typeof name !== 'string') {
    throw new InvalidArgumentTypeError(`${argument} must be a string; got ${describeValue(name)}`);
  }
  if (name.length === 0) {
    throw new InvalidArgumentValueError(`${argument} must not be empty`);
  }
  if ([...name].length > MAX_SERVICE_NAME_LENGTH) {
    throw new InvalidArgumentValueError(
      `${argument} must be at most ${MAX_SERVICE_NAME_LENGTH} characters; got ${[...name].length}`,
    );
  }
  if (CONTROL_CHARACTERS.test(name)) {
    throw new InvalidArgumentValueError(`${argument} must not contain control characters; got ${describeValue(name)}`);
  }
}

export function validatePid(pid: unknown, argument = 'pid'): asserts pid is number {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new OutOfRangeError(`${argument} must be a positive safe integer; got ${describeValue(pid)}`);
  }
}

export function validateState(state: unknown, argument = 'state'): asserts state is ProcessState {
  if (!isProcessState(state)) {
    const allowed = Object.values(ProcessState).join(', ');
    throw new OutOfRangeError(`${argument} must be one of ${allowed}; got ${describeValue(state)}`);
  }
}

/** An optional state limited to `allowed`; `fallback` when absent. */
export function stateOption(value: unknown, argument: string, allowed: readonly ProcessState[], fallback: ProcessState): ProcessState {
  if (value === undefined) return fallback;
  if (!isProcessState(value) || !allowed.includes(value)) {
    throw new OutOfRangeError(`${argument} must be one of ${allowed.join(', ')}; got ${describeValue(value)}`);
  }
  return value;
}

export function validateBoolean(value: unknown, argument: string): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentTypeError(`${argument} must be a boolean; got ${describeValue(value)}`);
  }
}

export function validateOptionalString(value: unknown, argument: string): asserts value is string | undefined {
  if (value !== undefined && typeof value !== 'string') {
    throw new InvalidArgumentTypeError(`${argument} must be a string; got ${describeValue(value)}`);
  }
}

/** A positive, finite duration in ms that a timer can honour. */
export function intervalOption(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new OutOfRangeError(
      `${argument} must be a positive finite number of ms, at most ${MAX_TIMER_MS}; got ${describeValue(value)}`,
    );
  }
  return value;
}

export function positiveIntegerOption(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new OutOfRangeError(`${argument} must be a positive integer; got ${describeValue(value)}`);
  }
  return value;
}

export function validateSignal(signal: unknown, argument: string): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentTypeError(`${argument} must be an AbortSignal; got ${describeValue(signal)}`);
  }
}
