import { parseDuration } from './duration.js';
import { parseOtlp, parsePrometheus, type HostPort } from './endpoint.js';
import { UsageError } from './errors.js';
import { parseTarget, validateServiceName, type WatchService } from './watch/target.js';

/**
 * What a `--config FILE` may set. Every field is optional; command-line flags win
 * over it. Example:
 *
 * ```json
 * { "interval": "2s", "prometheus": "0.0.0.0:9464", "otlp": "off", "json": false,
 *   "services": { "api": "pidfile:/run/api.pid", "db": 4242, "worker": "match:worker\\.js" } }
 * ```
 */
export interface ConfigFile {
  intervalMs?: number;
  prometheus?: HostPort | null;
  otlp?: string | null;
  json?: boolean;
  services?: WatchService[];
}

const KEYS = ['interval', 'prometheus', 'otlp', 'json', 'services'] as const;

/** Validates the parsed JSON of a config file; `file` is only used in messages. */
export function parseConfigFile(text: string, file: string): ConfigFile {
  const where = `--config ${JSON.stringify(file)}`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${where}: not valid JSON: ${reason}`);
  }
  if (!isRecord(data)) throw new UsageError(`${where}: expected a JSON object at the top level`);
  for (const key of Object.keys(data)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new UsageError(`${where}: unknown key ${JSON.stringify(key)} (known: ${KEYS.join(', ')})`);
    }
  }
  const at = (key: string): string => `${where}: ${JSON.stringify(key)}`;
  const config: ConfigFile = {};
  if (data.interval !== undefined) {
    config.intervalMs = parseDuration(expectString(data.interval, at('interval')), at('interval'), MIN_INTERVAL_MS);
  }
  if (data.prometheus !== undefined) {
    const value = typeof data.prometheus === 'number' ? String(data.prometheus) : data.prometheus;
    config.prometheus = parsePrometheus(expectString(value, at('prometheus')), at('prometheus'));
  }
  if (data.otlp !== undefined) config.otlp = parseOtlp(expectString(data.otlp, at('otlp')), at('otlp'));
  if (data.json !== undefined) {
    if (typeof data.json !== 'boolean') throw new UsageError(`${at('json')}: expected true or false`);
    config.json = data.json;
  }
  if (data.services !== undefined) config.services = parseServices(data.services, at('services'));
  return config;
}

/** Shared with the command line so both refuse the same intervals. */
export const MIN_INTERVAL_MS = 100;

function parseServices(value: unknown, where: string): WatchService[] {
  if (!isRecord(value)) {
    throw new UsageError(`${where}: expected an object of NAME: TARGET, e.g. {"api": "pidfile:/run/api.pid"}`);
  }
  return Object.entries(value).map(([name, target]) => {
    const flag = `${where}.${name}`;
    validateServiceName(name, where, name);
    const text = typeof target === 'number' ? String(target) : expectString(target, flag);
    return { name, target: parseTarget(text, flag) };
  });
}

function expectString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new UsageError(`${where}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
