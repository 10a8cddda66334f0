import { DEFAULT_HEALTH_INTERVAL_MS, DEFAULT_INTERVAL_MS, DEFAULT_MAX_GROUPS, DEMO_INTERVAL_MS } from '../../core/limits.js';
import { basename } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { firstRunKey, type ConfigFile } from './config-file.js';
import { parseDuration } from './duration.js';
import { parseHttpUrl, parseOtlp, parsePrometheus, type HostPort } from './endpoint.js';
import { exportersFromEnv, type EnvExporters } from './env-defaults.js';
import { UsageError, quoteArg, quoteValue } from './errors.js';
import { nearest } from './hints.js';
import { parseMaxGroups } from './max-groups.js';
import { checkLabels, parseLabelArgs } from './labels.js';
import {
  DEFAULT_BACKOFF,
  DEFAULT_RESTART_WINDOW_MS,
  RUN_SETTING_KEYS,
  keyOfField,
  readRunSetting,
  type BackoffPolicy,
  type ResourceLimits,
  type RestartPolicy,
  type RunSettings,
} from './run-options.js';
import { parseServiceArg, validateServiceName, type WatchService } from './target.js';

/** Options every long-running command shares. */
export interface CommonOptions {
  intervalMs: number;
  /** null: no Prometheus endpoint. */
  prometheus: HostPort | null;
  /** An explicit URL, `env` (OTEL_* variables decide), or null (no OTLP export). */
  otlp: string | null;
  json: boolean;
  /** Count each service's live descendants in (default); false with --single-process. */
  descendants: boolean;
  /** Put procmetrics_state and procmetrics_healthy on process gauges too (--state-labels). */
  stateLabels: boolean;
  /** Extra labels of every service (--label, "labels" in the config file), merged under a service's own. */
  labels: Readonly<Record<string, string>>;
  /** A service's own labels ("labels" of a service in the config file), by name. */
  serviceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export interface RunSpec {
  name: string;
  command: string;
  args: string[];
  restart: RestartPolicy;
  /** `failuresToRestart`: restart the command after this many failed checks in a row (--health-failures); absent: never. */
  health: { argv: string[]; intervalMs: number; failuresToRestart?: number } | null;
  /** At most `max` restarts within `windowMs` (--max-restarts, --restart-window); absent: no limit. */
  restartLimit?: { max: number; windowMs: number };
  /** Restart delays (--backoff-*); absent: DEFAULT_BACKOFF. */
  backoff?: BackoffPolicy;
  /** Limits on the command's own cgroup (--memory-max, --cpu-max); absent: none. */
  limits?: ResourceLimits;
  /** Added to (or replacing in) our own environment for the command. */
  env?: Readonly<Record<string, string>>;
}

/** `watch --discover FILE`: group every process on the host by the rules in FILE. */
export interface DiscoverSpec {
  /** A process-exporter config (YAML), read when the command starts. */
  path: string;
  maxGroups: number;
}

export type Command =
  | { command: 'help' }
  | { command: 'version' }
  | { command: 'watch'; options: CommonOptions; once: boolean; services: WatchService[]; discover: DiscoverSpec | null; pm2: boolean }
  | { command: 'run'; options: CommonOptions; spec: RunSpec }
  | { command: 'demo'; options: CommonOptions }
  | { command: 'top'; url: string; json: boolean };

/** The command line before the config file is merged in. */
export type CommandLine =
  | { command: 'help' }
  | { command: 'version' }
  | { command: 'watch' | 'run' | 'demo'; configPath: string | undefined; values: Values; rest: string[] }
  | { command: 'top'; url: string | undefined; values: Values };

const COMMANDS = ['watch', 'run', 'demo', 'top'] as const;
type CommandName = (typeof COMMANDS)[number];

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  config: { type: 'string', short: 'c' },
  interval: { type: 'string', short: 'i' },
  prometheus: { type: 'string' },
  otlp: { type: 'string' },
  json: { type: 'boolean' },
  once: { type: 'boolean' },
  service: { type: 'string', short: 's', multiple: true },
  name: { type: 'string', short: 'n' },
  restart: { type: 'string' },
  'health-cmd': { type: 'string' },
  'health-interval': { type: 'string' },
  'health-failures': { type: 'string' },
  'max-restarts': { type: 'string' },
  'restart-window': { type: 'string' },
  'backoff-initial': { type: 'string' },
  'backoff-max': { type: 'string' },
  'backoff-reset': { type: 'string' },
  'memory-max': { type: 'string' },
  'cpu-max': { type: 'string' },
  'single-process': { type: 'boolean' },
  'state-labels': { type: 'boolean' },
  discover: { type: 'string' },
  'max-groups': { type: 'string' },
  label: { type: 'string', multiple: true },
  pm2: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

type OptionName = keyof typeof OPTIONS;
const LONG_OPTIONS = Object.keys(OPTIONS).map((name) => `--${name}`);
type Values = ReturnType<typeof parseWith>['values'];

const SHARED: readonly OptionName[] = ['help', 'version', 'config', 'interval', 'prometheus', 'otlp', 'json', 'state-labels', 'label'];
const ALLOWED: Record<CommandName, ReadonlySet<OptionName>> = {
  watch: new Set([...SHARED, 'service', 'once', 'single-process', 'discover', 'max-groups', 'pm2']),
  run: new Set([...SHARED, 'name', 'single-process', ...RUN_SETTING_KEYS]),
  demo: new Set(SHARED),
  top: new Set(['help', 'version', 'json']),
};

function parseWith(args: string[]) {
  return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true });
}

/**
 * argv (without node and the script) -> which command, its flags and what follows
 * `--`. Pure; throws UsageError naming the offending argument.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const dashDash = argv.indexOf('--');
  const before = dashDash < 0 ? [...argv] : argv.slice(0, dashDash);
  const rest = dashDash < 0 ? [] : argv.slice(dashDash + 1);
  let parsed: ReturnType<typeof parseWith>;
  try {
    parsed = parseWith(before);
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const { values, positionals } = parsed;
  const [name, ...extra] = positionals;
  if (values.version === true) return { command: 'version' };
  if (values.help === true || name === 'help') return { command: 'help' };
  if (name === undefined) throw new UsageError('missing command: watch, run, demo or top (see procmetrics --help)');
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command ${quoteValue(name)}: expected watch, run, demo or top`);
  }
  const command = name as CommandName;
  for (const option of Object.keys(values) as OptionName[]) {
    if (!ALLOWED[command].has(option)) throw new UsageError(`--${option} is not an option of ${command}`);
  }
  if (command === 'top') {
    if (extra.length > 1) throw new UsageError(`unexpected argument ${quoteValue(extra[1] ?? '')}: top takes one URL`);
    if (dashDash >= 0) throw new UsageError('top takes no command after --');
    return { command, url: extra[0], values };
  }
  if (extra.length > 0) {
    const hint = command === 'run' ? ' (put the command after --)' : '';
    throw new UsageError(`unexpected argument ${quoteValue(extra[0] ?? '')}${hint}`);
  }
  if (command !== 'run' && dashDash >= 0) throw new UsageError(`${command} takes no command after --`);
  return { command, configPath: values.config, values, rest };
}

/** Merges the config file under the flags (flags win) and validates the result. Pure. */
export function buildCommand(line: CommandLine, config: ConfigFile = {}, env: Readonly<Record<string, string | undefined>> = {}): Command {
  if (line.command === 'help' || line.command === 'version') return { command: line.command };
  if (line.command === 'top') return { command: 'top', url: parseTopUrl(line.url), json: line.values.json ?? false };
  const { values } = line;
  // Flags, then the config file, then the standard variables, then defaults.
  const fromEnv = (): EnvExporters => (envExporters ??= exportersFromEnv(env));
  let envExporters: EnvExporters | undefined;
  const options: CommonOptions = {
    intervalMs:
      values.interval !== undefined
        ? parseDuration(values.interval, '--interval')
        : (config.intervalMs ?? (line.command === 'demo' ? DEMO_INTERVAL_MS : DEFAULT_INTERVAL_MS)),
    prometheus:
      values.prometheus !== undefined
        ? parsePrometheus(values.prometheus)
        : config.prometheus !== undefined
          ? config.prometheus
          : fromEnv().prometheus,
    otlp: values.otlp !== undefined ? parseOtlp(values.otlp) : config.otlp !== undefined ? config.otlp : fromEnv().otlp,
    json: values.json ?? config.json ?? false,
    descendants: values['single-process'] !== true,
    stateLabels: values['state-labels'] ?? config.stateLabels ?? false,
    // Flags win over the config file label by label.
    labels:
      values.label !== undefined ? checkLabels({ ...config.labels, ...parseLabelArgs(values.label) }, '--label') : (config.labels ?? {}),
    serviceLabels: new Map(),
  };
  const configWhere = `--config ${quoteValue(line.configPath ?? '')}`;
  if (line.command !== 'watch' && config.services !== undefined) {
    throw new UsageError(`${configWhere}: "services" is only used by watch`);
  }
  const runKey = firstRunKey(config);
  if (line.command !== 'run' && runKey !== undefined) {
    throw new UsageError(`${configWhere}: ${quoteValue(runKey)} is only used by run`);
  }
  switch (line.command) {
    case 'watch': {
      const discover = discoverSpec(values, config);
      const pm2 = values.pm2 === true;
      if (pm2 && values.once === true) throw new UsageError('--once cannot be used with --pm2: PM2 apps are followed, not sampled once');
      const services = watchServices(values, config, discover !== null || pm2);
      const serviceLabels = new Map<string, Readonly<Record<string, string>>>();
      for (const service of services) {
        if (service.labels === undefined) continue;
        serviceLabels.set(
          service.name,
          checkLabels({ ...options.labels, ...service.labels }, `${configWhere}: "services".${service.name}.labels`),
        );
      }
      return { command: 'watch', options: { ...options, serviceLabels }, once: values.once ?? false, services, discover, pm2 };
    }
    case 'run':
      return { command: 'run', options, spec: runSpec(values, line.rest, config, configWhere) };
    case 'demo':
      return { command: 'demo', options };
  }
}

/**
 * The URL `top` reads: another procmetrics' metrics port. A bare origin
 * (`http://127.0.0.1:9464`, or its `/`) means its stream, `/events`; a URL with
 * another path is taken as the stream's own (behind a proxy, say).
 */
function parseTopUrl(text: string | undefined): string {
  if (text === undefined || text.trim() === '') {
    throw new UsageError("top needs the URL of another procmetrics' metrics port, e.g. procmetrics top http://127.0.0.1:9464");
  }
  const url = parseHttpUrl(text, `top ${quoteValue(text)}`, { example: 'http://127.0.0.1:9464)', what: 'the URL' });
  if (url.pathname === '/') url.pathname = '/events';
  return url.href;
}

function discoverSpec(values: Values, config: ConfigFile): DiscoverSpec | null {
  const path = values.discover ?? config.discover;
  const rawMax = values['max-groups'];
  const maxGroups = rawMax !== undefined ? parseMaxGroups(rawMax) : (config.maxGroups ?? DEFAULT_MAX_GROUPS);
  if (path === undefined) {
    if (rawMax !== undefined || config.maxGroups !== undefined)
      throw new UsageError('--max-groups needs --discover (or "discover" in --config)');
    return null;
  }
  if (path === '') throw new UsageError('--discover needs the path of a rules file');
  return { path, maxGroups };
}

/** `discovering`: --discover or --pm2 brings services of its own, so none need be named. */
function watchServices(values: Values, config: ConfigFile, discovering: boolean): WatchService[] {
  const fromFlags = (values.service ?? []).map((raw) => parseServiceArg(raw));
  const seen = new Map<string, string>();
  for (const [index, service] of fromFlags.entries()) {
    const raw = values.service?.[index] ?? service.name;
    const first = seen.get(service.name);
    if (first !== undefined) {
      throw new UsageError(`${quoteArg('--service', raw)}: duplicate service name ${quoteValue(service.name)} (also ${quoteValue(first)})`);
    }
    seen.set(service.name, raw);
  }
  // A flag naming a service the config file also has replaces it: flags win.
  const fromConfig = (config.services ?? []).filter((service) => !seen.has(service.name));
  const services = [...fromConfig, ...fromFlags];
  if (services.length === 0 && !discovering) {
    throw new UsageError('watch needs at least one --service NAME=TARGET, --discover RULES or --pm2 (or "services" in --config)');
  }
  return services;
}

function runSpec(values: Values, rest: string[], config: ConfigFile, configWhere: string): RunSpec {
  const [command, ...args] = rest;
  if (command === undefined || command === '') {
    throw new UsageError('run needs a command after --, e.g. procmetrics run -- node server.js');
  }
  // Flags win over the config file key by key; both are checked by the same functions.
  const name = values.name !== undefined ? validateServiceName(values.name, '--name', values.name) : (config.name ?? defaultName(command));
  const fromFlags: RunSettings = {};
  for (const key of RUN_SETTING_KEYS) {
    const text = values[key];
    if (text !== undefined) readRunSetting(fromFlags, key, text, `--${key}`);
  }
  const settings: RunSettings = { ...config.run, ...fromFlags };
  /** Where a setting came from, for a message about how it combines with others. */
  const where = (field: keyof RunSettings): string => {
    const key = keyOfField(field);
    const flag = values[key];
    return flag !== undefined ? quoteArg(`--${key}`, flag) : `${configWhere}: ${quoteValue(key)}`;
  };
  const needs = (field: keyof RunSettings, what: string): never => {
    throw new UsageError(`${where(field)}: needs ${what}`);
  };
  const restart = settings.restart ?? 'never';
  if (settings.healthArgv === undefined) {
    if (settings.healthIntervalMs !== undefined) needs('healthIntervalMs', '--health-cmd (or "health-cmd" in --config)');
    if (settings.healthFailures !== undefined) needs('healthFailures', '--health-cmd (or "health-cmd" in --config)');
  }
  if (settings.maxRestarts === undefined && settings.restartWindowMs !== undefined) {
    needs('restartWindowMs', '--max-restarts (or "max-restarts" in --config)');
  }
  if (settings.maxRestarts !== undefined && restart === 'never' && settings.healthFailures === undefined) {
    needs('maxRestarts', 'something that restarts: --restart on-failure or always, or --health-failures');
  }
  const backoff: BackoffPolicy = {
    initialMs: settings.backoffInitialMs ?? DEFAULT_BACKOFF.initialMs,
    maxMs: settings.backoffMaxMs ?? DEFAULT_BACKOFF.maxMs,
    resetAfterMs: settings.backoffResetMs ?? DEFAULT_BACKOFF.resetAfterMs,
  };
  if (backoff.initialMs > backoff.maxMs) {
    const culprit = settings.backoffInitialMs !== undefined ? 'backoffInitialMs' : 'backoffMaxMs';
    throw new UsageError(`${where(culprit)}: the first delay (${backoff.initialMs} ms) exceeds the longest (${backoff.maxMs} ms)`);
  }
  const health: RunSpec['health'] =
    settings.healthArgv === undefined
      ? null
      : {
          argv: settings.healthArgv,
          intervalMs: settings.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS,
          ...(settings.healthFailures !== undefined ? { failuresToRestart: settings.healthFailures } : {}),
        };
  const spec: RunSpec = { name, command, args, restart, health, backoff };
  if (settings.maxRestarts !== undefined) {
    spec.restartLimit = { max: settings.maxRestarts, windowMs: settings.restartWindowMs ?? DEFAULT_RESTART_WINDOW_MS };
  }
  if (settings.memoryMaxBytes !== undefined || settings.cpuMaxCores !== undefined) {
    spec.limits = { memoryBytes: settings.memoryMaxBytes ?? null, cpuCores: settings.cpuMaxCores ?? null };
  }
  return spec;
}

/** `node server.js` -> `node`; characters a service name may not hold become `_`. */
function defaultName(command: string): string {
  const name = basename(command)
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .slice(0, 64);
  return name === '' ? 'service' : name;
}

/** node:util parseArgs messages, reworded to name the argument first. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  // "Option '-s, --service <value>' argument missing": name the long form.
  const found = /'(?:-\w, )?(-[^' ]+)/.exec(message)?.[1];
  // An unknown option is the user's text: quoted unless plain, so it cannot break the line.
  const option = found === undefined || /^-{1,2}[A-Za-z0-9-]+$/.test(found) ? found : quoteValue(found);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) {
    const guess = found?.startsWith('--') ? nearest(found.split('=')[0] ?? found, LONG_OPTIONS) : undefined;
    return `unknown option ${option} (${guess === undefined ? 'see procmetrics --help' : `did you mean ${guess}?`})`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    return /does not take/.test(message) ? `${option} takes no value` : `${option} needs a value`;
  }
  return quoteValue(message.split('. ')[0] ?? message).slice(1, -1);
}
