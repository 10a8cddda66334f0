import { parseDuration } from './duration.js';
import { parseOtlp, parsePrometheus, type HostPort } from './endpoint.js';
import { UsageError, quoteValue } from './errors.js';
import { nearest } from './hints.js';
import { checkLabels } from './labels.js';
import { RUN_SETTING_KEYS, keyOfField, readRunSetting, type RunSettings } from './run-options.js';
import { parseMaxGroups } from './max-groups.js';
import { parseTarget, validateServiceName, type WatchService } from './target.js';

/**
 * What a `--config FILE` may set. Every field is optional; command-line flags win
 * over it. Example:
 *
 * ```json
 * { "interval": "2s", "prometheus": "0.0.0.0:9464", "otlp": "off", "json": false,
 *   "services": { "api": "pidfile:/run/api.pid", "db": 4242, "worker": "match:worker\\.js" } }
 * ```
 *
 * For `run`: `{ "name": "api", "restart": "on-failure", "max-restarts": 5, "health-cmd": "curl -fsS localhost:8080/healthz",
 * "health-interval": "5s", "health-failures": 3, "memory-max": "512M", "cpu-max": 1.5 }`: every flag of
 * run's has a key of the same name.
 */
export interface ConfigFile {
  intervalMs?: number;
  prometheus?: HostPort | null;
  otlp?: string | null;
  json?: boolean;
  /** Like --state-labels. */
  stateLabels?: boolean;
  services?: WatchService[];
  /** Like --label: extra labels of every service. */
  labels?: Readonly<Record<string, string>>;
  /** `watch` only: a rules file, and the most groups, like --discover and --max-groups. */
  discover?: string;
  maxGroups?: number;
  /** `run` only, like the flags of the same names. */
  name?: string;
  run?: RunSettings;
}

const KEYS = [
  'interval',
  'prometheus',
  'otlp',
  'json',
  'state-labels',
  'services',
  'labels',
  'discover',
  'max-groups',
  'name',
  ...RUN_SETTING_KEYS,
] as const;

/** The first key of the file that only `run` uses, if any: other commands refuse it. */
export function firstRunKey(config: ConfigFile): string | undefined {
  if (config.name !== undefined) return 'name';
  const field = Object.keys(config.run ?? {})[0] as keyof RunSettings | undefined;
  return field === undefined ? undefined : keyOfField(field);
}

/** Validates the parsed JSON of a config file; `file` is only used in messages. */
export function parseConfigFile(text: string, file: string): ConfigFile {
  const where = `--config ${quoteValue(file)}`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`${where}: not valid JSON ${describeJsonError(text)}`);
  }
  if (!isRecord(data)) throw new UsageError(`${where}: expected a JSON object at the top level`);
  for (const key of Object.keys(data)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      const guess = nearest(key, KEYS);
      const hint = guess === undefined ? `known: ${KEYS.join(', ')}` : `did you mean ${quoteValue(guess)}?`;
      throw new UsageError(`${where}: unknown key ${quoteValue(key)} (${hint})`);
    }
  }
  const at = (key: string): string => `${where}: ${quoteValue(key)}`;
  const config: ConfigFile = {};
  if (data.interval !== undefined) {
    config.intervalMs = parseDuration(expectString(data.interval, at('interval')), at('interval'));
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
  if (data['state-labels'] !== undefined) {
    if (typeof data['state-labels'] !== 'boolean') throw new UsageError(`${at('state-labels')}: expected true or false`);
    config.stateLabels = data['state-labels'];
  }
  if (data.services !== undefined) config.services = parseServices(data.services, at('services'));
  if (data.labels !== undefined) config.labels = checkLabels(data.labels, at('labels'));
  if (data.discover !== undefined) config.discover = expectString(data.discover, at('discover'));
  if (data['max-groups'] !== undefined) {
    const value = typeof data['max-groups'] === 'number' ? String(data['max-groups']) : expectString(data['max-groups'], at('max-groups'));
    config.maxGroups = parseMaxGroups(value, at('max-groups'));
  }
  // The same checks as the flags of the same names.
  if (data.name !== undefined) {
    const name = expectString(data.name, at('name'));
    config.name = validateServiceName(name, at('name'), name);
  }
  for (const key of RUN_SETTING_KEYS) {
    const value = data[key];
    if (value === undefined) continue;
    config.run ??= {};
    readRunSetting(config.run, key, typeof value === 'number' ? String(value) : expectString(value, at(key)), at(key));
  }
  return config;
}

function parseServices(value: unknown, where: string): WatchService[] {
  if (!isRecord(value)) {
    throw new UsageError(`${where}: expected an object of NAME: TARGET, e.g. {"api": "pidfile:/run/api.pid"}`);
  }
  return Object.entries(value).map(([name, target]) => {
    const flag = `${where}.${name}`;
    validateServiceName(name, where, name);
    // NAME: TARGET, or NAME: { "target": TARGET, "labels": { ... } }.
    if (isRecord(target)) {
      for (const key of Object.keys(target)) {
        if (key !== 'target' && key !== 'labels') throw new UsageError(`${flag}: unknown key ${quoteValue(key)} (known: target, labels)`);
      }
      const text = typeof target.target === 'number' ? String(target.target) : expectString(target.target, `${flag}.target`);
      return { name, target: parseTarget(text, `${flag}.target`), labels: checkLabels(target.labels ?? {}, `${flag}.labels`) };
    }
    const text = typeof target === 'number' ? String(target) : expectString(target, flag);
    return { name, target: parseTarget(text, flag) };
  });
}

function expectString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new UsageError(`${where}: expected a string, got ${typeName(value)}`);
  return value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Where JSON.parse gave up, as `at line L column C` (or `(it ends early)`).
 * JSON.parse's own messages quote the text around the error, and the file
 * may be anything (`--config /etc/shadow`), so they are never shown. The
 * place is found as the shortest prefix that already fails for a reason
 * other than ending early: parsing reads left to right, so every longer
 * prefix fails there too, and a binary search finds it.
 */
function describeJsonError(text: string): string {
  const failsBefore = (end: number): boolean => {
    try {
      JSON.parse(text.slice(0, end));
      return false;
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      if (/Unexpected end of JSON input/.test(message)) return false;
      const position = /at position (\d+)/.exec(message)?.[1];
      return position === undefined || Number(position) < end;
    }
  };
  if (!failsBefore(text.length)) return '(it ends early)';
  let low = 0;
  let high = text.length;
  while (low + 1 < high) {
    const middle = Math.floor((low + high) / 2);
    if (failsBefore(middle)) high = middle;
    else low = middle;
  }
  // text[high - 1] is the first character the parser could not take.
  const before = text.slice(0, high - 1);
  const line = before.split('\n').length;
  const column = high - 1 - before.lastIndexOf('\n');
  return `at line ${line} column ${column}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
