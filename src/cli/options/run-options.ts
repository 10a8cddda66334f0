import { parseDuration } from './duration.js';
import { UsageError, quoteArg } from './errors.js';
import { splitCommand } from './split-command.js';

/** When `run` starts its command again after it exits. */
export type RestartPolicy = 'never' | 'on-failure' | 'always';

/**
 * Restart delays: exponential, capped, and forgiven once a child has stayed up
 * long enough that its last exit says nothing about the next start.
 */
export interface BackoffPolicy {
  /** Delay before the first restart after a quick exit, ms. */
  initialMs: number;
  /** The delay never exceeds this, ms. */
  maxMs: number;
  /** A child that ran at least this long resets the delay to `initialMs`, ms. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 10_000 };

/** `--restart-window`'s default: long enough to hold every restart of a crash loop up to --max-restarts 15 (delays doubling from 0.5 s). */
export const DEFAULT_RESTART_WINDOW_MS = 5 * 60_000;

/** Limits on the command's own cgroup. */
export interface ResourceLimits {
  /** memory.max (v1 memory.limit_in_bytes), bytes; null: none. */
  memoryBytes: number | null;
  /** cpu.max (v1 cfs quota / period) as cores, e.g. 0.5; null: none. */
  cpuCores: number | null;
}

/**
 * `run`'s settings besides the name and the command, as a flag or a config
 * key of the same name gives them: one table, so both are read and checked
 * by the same functions. `where` names the source in messages, e.g.
 * `--restart` or `--config "p.json": "restart"`.
 */
export interface RunSettings {
  restart?: RestartPolicy;
  healthArgv?: string[];
  healthIntervalMs?: number;
  healthFailures?: number;
  maxRestarts?: number;
  restartWindowMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  backoffResetMs?: number;
  memoryMaxBytes?: number;
  cpuMaxCores?: number;
}

type Parser<T> = (text: string, where: string) => T;

const RUN_SETTING_PARSERS = {
  restart: ['restart', parseRestart],
  'health-cmd': ['healthArgv', parseHealthCmd],
  'health-interval': ['healthIntervalMs', parseDuration],
  'health-failures': ['healthFailures', (text, where) => parseWholeNumber(text, where, 1, 1000)],
  'max-restarts': ['maxRestarts', (text, where) => parseWholeNumber(text, where, 0, 1_000_000)],
  'restart-window': ['restartWindowMs', parseDuration],
  'backoff-initial': ['backoffInitialMs', parseDuration],
  'backoff-max': ['backoffMaxMs', parseDuration],
  'backoff-reset': ['backoffResetMs', parseDuration],
  'memory-max': ['memoryMaxBytes', parseSize],
  'cpu-max': ['cpuMaxCores', parseCores],
} as const satisfies Record<string, readonly [keyof RunSettings, Parser<unknown>]>;

export type RunSettingKey = keyof typeof RUN_SETTING_PARSERS;
export const RUN_SETTING_KEYS = Object.keys(RUN_SETTING_PARSERS) as RunSettingKey[];

/** Reads one setting into `into`; `text` is the flag's value or the config key's (numbers as their decimal text). */
export function readRunSetting(into: RunSettings, key: RunSettingKey, text: string, where: string): void {
  const [field, parse] = RUN_SETTING_PARSERS[key];
  (into as Record<string, unknown>)[field] = (parse as Parser<unknown>)(text, where);
}

/** The key a field is read from: for messages about a combination of settings. */
export function keyOfField(field: keyof RunSettings): RunSettingKey {
  const found = RUN_SETTING_KEYS.find((key) => RUN_SETTING_PARSERS[key][0] === field);
  if (found === undefined) throw new Error(`no run setting reads ${field}`);
  return found;
}

function parseRestart(text: string, where: string): RestartPolicy {
  if (text !== 'never' && text !== 'on-failure' && text !== 'always') {
    throw new UsageError(`${quoteArg(where, text)}: expected never, on-failure or always`);
  }
  return text;
}

/** The health command as argv; split as a shell would, with no expansion. */
function parseHealthCmd(text: string, where: string): string[] {
  const split = splitCommand(text);
  if (!split.ok) throw new UsageError(`${quoteArg(where, text)}: ${split.reason}`);
  return split.argv;
}

/** A whole number from `min` to `max`, as its decimal text. */
export function parseWholeNumber(text: string, where: string, min: number, max: number): number {
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`${quoteArg(where, text)}: must be a whole number from ${min} to ${max}`);
  return value;
}

const SIZE_UNITS = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 } as const;
/** The smallest memory limit taken: below it the command could not even start. */
const MIN_MEMORY_MAX_BYTES = 2 ** 20;

/**
 * `64M`, `1.5G`, `512MiB`, `1048576` -> bytes. K, M, G, T are powers of 1024,
 * as systemd's MemoryMax= and docker's --memory read them.
 */
function parseSize(text: string, where: string): number {
  const match = /^(\d{1,15}(?:\.\d{1,6})?)\s*(?:([KMGT])(?:i?B)?|B)?$/i.exec(text.trim());
  const unit = (match?.[2] ?? '').toUpperCase() as keyof typeof SIZE_UNITS;
  const bytes = match === null ? Number.NaN : Math.floor(Number(match[1]) * SIZE_UNITS[unit]);
  if (!(bytes >= MIN_MEMORY_MAX_BYTES && bytes <= Number.MAX_SAFE_INTEGER)) {
    throw new UsageError(`${quoteArg(where, text)}: expected a size of at least 1M, e.g. 64M, 1.5G, 536870912`);
  }
  return bytes;
}

/** The CFS period procmetrics sets with a CPU limit, µs (the kernel's default). */
export const CPU_PERIOD_US = 100_000;
/** The kernel's smallest quota is 1 ms per period: 0.01 of a core at our period. */
const MIN_CORES = 0.01;
const MAX_CORES = 4096;

/** `0.5`, `2`, `1.25` -> cores (the share of one CPU's time per period, summed over CPUs). */
function parseCores(text: string, where: string): number {
  const value = /^\d{1,4}(?:\.\d{1,3})?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(value >= MIN_CORES && value <= MAX_CORES)) {
    throw new UsageError(`${quoteArg(where, text)}: expected a number of cores from ${MIN_CORES} to ${MAX_CORES}, e.g. 0.5 or 2`);
  }
  return value;
}
