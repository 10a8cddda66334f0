import { InvalidArgumentTypeError, InvalidArgumentValueError, OutOfRangeError, describeValue } from './errors.js';
import { MAX_CGROUP_PATH_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_SERVICE_LABELS, MAX_SERVICE_NAME_LENGTH, MAX_TIMER_MS } from './limits.js';
import type { GroupTarget } from './groups.js';
import { ProcessState, isProcessState } from './state.js';

// C0 and C1 control characters, DEL included: they break log lines and label values.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
// A surrogate not in a pair: not well-formed UTF-16. Encoded as UTF-8 it becomes U+FFFD,
// so two names differing only there would export the same label value.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function validateServiceName(name: unknown, argument = 'serviceName', maxLength = MAX_SERVICE_NAME_LENGTH): asserts name is string {
  if (typeof name !== 'string') {
    throw new InvalidArgumentTypeError(`${argument} must be a string; got ${describeValue(name)}`);
  }
  if (name.length === 0) {
    throw new InvalidArgumentValueError(`${argument} must not be empty`);
  }
  if ([...name].length > maxLength) {
    throw new InvalidArgumentValueError(`${argument} must be at most ${maxLength} characters; got ${[...name].length}`);
  }
  if (CONTROL_CHARACTERS.test(name)) {
    throw new InvalidArgumentValueError(`${argument} must not contain control characters; got ${describeValue(name)}`);
  }
  if (LONE_SURROGATE.test(name)) {
    throw new InvalidArgumentValueError(`${argument} must be well-formed UTF-16 (no lone surrogates); got ${describeValue(name)}`);
  }
}

// The same name in OTLP and Prometheus: nothing to translate, nothing to collide after translation.
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** No labels: shared by every service that has none. */
export const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Extra labels of a service: at most MAX_SERVICE_LABELS, names
 * `[a-zA-Z_][a-zA-Z0-9_]*` not starting with `__` and not in `reserved` (the
 * names procmetrics emits itself), values checked like service names. Returns
 * a frozen copy, or NO_LABELS when there are none.
 */
export function validateLabels(value: unknown, argument: string, reserved: ReadonlySet<string>): Readonly<Record<string, string>> {
  const record = checkRecord(argument, value);
  if (record === undefined) return NO_LABELS;
  const entries = Object.entries(record);
  if (entries.length > MAX_SERVICE_LABELS) {
    throw new OutOfRangeError(`${argument} must have at most ${MAX_SERVICE_LABELS} labels; got ${entries.length}`);
  }
  if (entries.length === 0) return NO_LABELS;
  const labels: Record<string, string> = {};
  for (const [name, item] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new InvalidArgumentValueError(
        `${argument} label names must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __; got ${describeValue(name)}`,
      );
    }
    if (reserved.has(name)) {
      throw new InvalidArgumentValueError(`${argument} label name ${describeValue(name)} is one procmetrics emits itself`);
    }
    validateServiceName(item, `${argument}.${name}`, MAX_LABEL_VALUE_LENGTH);
    labels[name] = item;
  }
  return Object.freeze(labels);
}

/** True when two label sets hold the same names and values. */
export function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** A name to look up: any string (an invalid one is simply unknown), but a string. */
export function validateName(name: unknown, argument = 'serviceName'): asserts name is string {
  if (typeof name !== 'string') {
    throw new InvalidArgumentTypeError(`${argument} must be a string; got ${describeValue(name)}`);
  }
}

/** An options bag: undefined (defaults) or a plain object, never null or a primitive. */
export function validateOptions(value: unknown, argument: string): void {
  checkRecord(argument, value);
}

export function validateOptionalBoolean(value: unknown, argument: string): asserts value is boolean | undefined {
  checkBoolean(argument, value);
}

/** A process start time, ms since epoch: positive and finite. */
export function validateStartTime(value: unknown, argument: string): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > Number.MAX_SAFE_INTEGER) {
    throw new OutOfRangeError(`${argument} must be a positive number of ms since epoch; got ${describeValue(value)}`);
  }
}

/** A collector: undefined (the default), the batch port, or the per-pid pair. */
export function validateCollector(value: unknown): void {
  if (value === undefined) return;
  const candidate: { sample?: unknown; collectCPU?: unknown; collectMemory?: unknown } | null = value;
  const usable =
    typeof candidate === 'object' &&
    candidate !== null &&
    (typeof candidate.sample === 'function' ||
      (typeof candidate.collectCPU === 'function' && typeof candidate.collectMemory === 'function'));
  if (!usable) {
    throw new InvalidArgumentTypeError(
      `collector must implement sample(targets), or collectCPU(pid) and collectMemory(pid); got ${describeValue(value)}`,
    );
  }
}

/** undefined (the global one), null (none) or an object with getMeter(). */
export function validateMeterProvider(value: unknown, argument: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'object' || typeof (value as { getMeter?: unknown }).getMeter !== 'function') {
    throw new InvalidArgumentTypeError(`${argument} must be a MeterProvider (with getMeter()) or null; got ${describeValue(value)}`);
  }
}

function validatePid(pid: unknown, argument = 'pid'): asserts pid is number {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new OutOfRangeError(`${argument} must be a positive safe integer; got ${describeValue(pid)}`);
  }
}

/**
 * What track() follows: a pid, or `{ cgroup: PATH }` with an absolute path of
 * plain segments (no `.`, `..` or empty ones, no control characters): it is
 * joined to mount points, so it must not climb out of them.
 */
export function validateTrackTarget(target: unknown): { pid: number } | { cgroup: string } | { group: GroupTarget } {
  const argument = 'target';
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    validatePid(target, 'pid');
    return { pid: target };
  }
  if ('group' in target) return { group: validateGroupTarget(target.group, `${argument}.group`) };
  const path: unknown = (target as { cgroup?: unknown }).cgroup;
  if (typeof path !== 'string') {
    throw new InvalidArgumentTypeError(`${argument}.cgroup must be a string; got ${describeValue(path)}`);
  }
  const segments = path.split('/').slice(1);
  const bad =
    !path.startsWith('/') ||
    path.length > MAX_CGROUP_PATH_LENGTH ||
    CONTROL_CHARACTERS.test(path) ||
    (path !== '/' && segments.some((segment) => segment === '' || segment === '.' || segment === '..'));
  if (bad) {
    throw new InvalidArgumentValueError(
      `${argument}.cgroup must be an absolute cgroup path such as /system.slice/api.service (no '.', '..' or empty segments, at most ${MAX_CGROUP_PATH_LENGTH} characters); got ${describeValue(path.slice(0, 200))}`,
    );
  }
  return { cgroup: path };
}

/** A group target: compiled grouping rules (with assign() and needs) and the name of one of their groups. */
function validateGroupTarget(value: unknown, argument: string): GroupTarget {
  const candidate = value as { grouping?: { assign?: unknown; needs?: unknown } | null; group?: unknown } | null;
  const grouping = typeof candidate === 'object' && candidate !== null ? candidate.grouping : undefined;
  if (typeof grouping !== 'object' || grouping === null || typeof grouping.assign !== 'function' || typeof grouping.needs !== 'object') {
    throw new InvalidArgumentTypeError(
      `${argument}.grouping must be compiled grouping rules (with assign() and needs); got ${describeValue(grouping)}`,
    );
  }
  validateServiceName(candidate?.group, `${argument}.group`);
  return value as GroupTarget;
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
  return durationOption(value, argument, fallback, false);
}

/** A duration in ms that a timer can honour, where 0 means "no wait". */
export function delayOption(value: unknown, argument: string, fallback: number): number {
  return durationOption(value, argument, fallback, true);
}

function durationOption(value: unknown, argument: string, fallback: number, zeroAllowed: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed) || value > MAX_TIMER_MS) {
    const kind = zeroAllowed ? 'a finite number of ms, 0 or more' : 'a positive finite number of ms';
    throw new OutOfRangeError(`${argument} must be ${kind}, at most ${MAX_TIMER_MS}; got ${describeValue(value)}`);
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

// Checks of option values that return the value checked, undefined when absent.

export function checkRecord(name: string, value: unknown): Readonly<Record<string, unknown>> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentTypeError(`${name} must be an object; got ${describeValue(value)}`);
  }
  return value as Readonly<Record<string, unknown>>;
}

export function checkString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidArgumentTypeError(`${name} must be a string; got ${describeValue(value)}`);
  if (value.trim() === '') throw new InvalidArgumentValueError(`${name} must not be empty; got ${describeValue(value)}`);
  return value;
}

export function checkStringRecord(name: string, value: unknown): Record<string, string> | undefined {
  const record = checkRecord(name, value);
  if (record === undefined) return undefined;
  const result: Record<string, string> = {};
  for (const [key, item] of Object.entries(record)) {
    if (typeof item !== 'string') {
      throw new InvalidArgumentTypeError(`${name}[${JSON.stringify(key)}] must be a string; got ${describeValue(item)}`);
    }
    result[key] = item;
  }
  return result;
}

export function checkInteger(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new InvalidArgumentTypeError(`${name} must be a number; got ${describeValue(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new OutOfRangeError(`${name} must be an integer from ${min} to ${max}; got ${describeValue(value)}`);
  }
  return value;
}

/** A required count: an integer from 0 to Number.MAX_SAFE_INTEGER. */
export function validateCount(value: unknown, argument: string): asserts value is number {
  if (value === undefined) throw new InvalidArgumentTypeError(`${argument} must be a number; got undefined`);
  checkInteger(argument, value, 0, Number.MAX_SAFE_INTEGER);
}

export function checkBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidArgumentTypeError(`${name} must be a boolean; got ${describeValue(value)}`);
  return value;
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidArgumentValueError(`${name} must be one of ${allowed.join(', ')}; got ${describeValue(value)}`);
}

/** A numeric option: an integer (or any finite number) of at least `min`; `fallback` when absent. */
export function numberOption(name: string, value: number | undefined, fallback: number, min = 1, integer = true): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(integer ? Number.isSafeInteger(value) : Number.isFinite(value))) {
    const kind = integer ? 'an integer' : 'a finite number';
    throw new InvalidArgumentValueError(`option ${name} must be ${kind}, got ${describeValue(value)}`);
  }
  if (value < min) throw new OutOfRangeError(`option ${name} must be at least ${min}, got ${value}`);
  return value;
}

/** A path option: a non-empty string (empty allowed where it means "no prefix"). */
export function pathOption(name: string, value: unknown, fallback: string, emptyAllowed = false): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') {
    throw new InvalidArgumentTypeError(`option ${name} must be a string, got ${describeValue(value)}`);
  }
  if (value === '' && !emptyAllowed) throw new InvalidArgumentValueError(`option ${name} must not be empty`);
  return value;
}
