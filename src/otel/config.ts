import { DEFAULT_OTLP_EXPORT, ENDPOINT_LIMITS, MAX_TIMER_MS } from '../core/limits.js';
import { InvalidArgumentTypeError, InvalidArgumentValueError, describeValue } from '../core/errors.js';
import { checkInteger, checkOneOf, checkRecord, checkString, checkStringRecord } from '../core/validate.js';
import { checkHeaders, checkHttpUrl, envValue, parseEnvInteger, parseKeyValueList } from './parse.js';

export type ExporterName = 'prometheus' | 'otlp' | 'console';

/** How OTLP is carried: gRPC (port 4317) or protobuf over HTTP POST (port 4318). */
export type OtlpProtocol = 'grpc' | 'http/protobuf';

/** OTLP aggregation temporality preference, as OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE spells it. */
export type TemporalityPreference = 'cumulative' | 'delta' | 'lowmemory';

/** Everything optional; what is missing comes from the environment, then from defaults. */
export interface TelemetryOptions {
  /** Which exporters to run; `[]` runs none. Default: OTEL_METRICS_EXPORTER, else ['prometheus']. */
  exporters?: readonly ExporterName[];
  prometheus?: {
    /** Interface to bind (default OTEL_EXPORTER_PROMETHEUS_HOST, else 127.0.0.1: loopback only). */
    host?: string;
    /** TCP port; 0 picks a free one (default OTEL_EXPORTER_PROMETHEUS_PORT, else 9464). */
    port?: number;
    /** A connection with no request in flight is closed after this long, ms (default 15000). */
    idleTimeoutMs?: number;
    /** A new connection must deliver its request headers within this, ms (default 5000; at most requestTimeoutMs). */
    headersTimeoutMs?: number;
    /** A request must arrive whole within this, ms (default 10000). */
    requestTimeoutMs?: number;
  };
  otlp?: {
    /** Default OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL, else grpc. */
    protocol?: OtlpProtocol;
    /**
     * Endpoint, http:// (plain) or https:// (TLS); for http/protobuf the full URL
     * (`.../v1/metrics`). Default: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as it is,
     * OTEL_EXPORTER_OTLP_ENDPOINT (http/protobuf appends `/v1/metrics`), else
     * http://localhost:4317 (grpc) or http://localhost:4318/v1/metrics (http/protobuf).
     */
    url?: string;
    /**
     * A base URL, as OTEL_EXPORTER_OTLP_ENDPOINT: for http/protobuf `/v1/metrics`
     * is appended, unless the path already ends in it (then it is used as it is).
     * `url` wins when both are given. This is what the command's `--otlp` sets.
     */
    endpoint?: string;
    /** Sent as gRPC metadata or HTTP headers. Default: OTEL_EXPORTER_OTLP_HEADERS merged with OTEL_EXPORTER_OTLP_METRICS_HEADERS. */
    headers?: Record<string, string>;
    /** Time between pushes, ms (default OTEL_METRIC_EXPORT_INTERVAL, else 60000). */
    exportIntervalMs?: number;
    /** Budget of one push, ms, at most the interval (default OTEL_METRIC_EXPORT_TIMEOUT, else 30000). */
    exportTimeoutMs?: number;
    /** Default OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, else cumulative. */
    temporality?: TemporalityPreference;
  };
  /** service.name of the Resource: the supervisor, not a tracked service (default OTEL_SERVICE_NAME, else 'procmetrics'). */
  serviceName?: string;
  /** More Resource attributes, over OTEL_RESOURCE_ATTRIBUTES. */
  resourceAttributes?: Record<string, string>;
  /** Where OTEL_* variables are read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface TelemetryConfig {
  exporters: readonly ExporterName[];
  prometheus: { host: string; port: number } & EndpointTimeouts;
  otlp: {
    protocol: OtlpProtocol;
    url: string;
    headers: Record<string, string>;
    exportIntervalMs: number;
    exportTimeoutMs: number;
    temporality: TemporalityPreference;
  };
  /** Resource attributes, service.name included. */
  resourceAttributes: Record<string, string>;
}

/** How long the Prometheus endpoint waits on a client, ms. */
export interface EndpointTimeouts {
  idleTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

const EXPORTERS: readonly ExporterName[] = ['prometheus', 'otlp', 'console'];
const TEMPORALITIES: readonly TemporalityPreference[] = ['cumulative', 'delta', 'lowmemory'];
const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf'];

function checkExporters(value: unknown): readonly ExporterName[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw new InvalidArgumentTypeError(`options.exporters must be an array, got ${describeValue(value)}`);
  }
  return value.map((item, i) => checkOneOf(`options.exporters[${i}]`, item, EXPORTERS) as ExporterName);
}

/** OTEL_METRICS_EXPORTER: a comma list of prometheus, otlp, console; or none. */
export function parseExportersEnv(text: string | undefined): readonly ExporterName[] | undefined {
  if (text === undefined) return undefined;
  const names = text
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (names.includes('none')) {
    if (names.length > 1) {
      throw new InvalidArgumentValueError(
        `OTEL_METRICS_EXPORTER: none cannot be combined with other exporters, got ${describeValue(text)}`,
      );
    }
    return [];
  }
  return [...new Set(names.map((name) => checkOneOf('OTEL_METRICS_EXPORTER', name, EXPORTERS) as ExporterName))];
}

/**
 * The signal-specific variable wins over the general one. http/json is
 * refused rather than sent as protobuf: a receiver that expects it would
 * reject every export.
 */
function otlpProtocol(otlp: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>>): OtlpProtocol {
  const fromOption = checkOneOf('options.otlp.protocol', otlp['protocol'], PROTOCOLS);
  if (fromOption !== undefined) return fromOption;
  for (const name of ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = checkOneOf(name, envValue(env, name)?.toLowerCase(), PROTOCOLS);
    if (protocol !== undefined) return protocol;
  }
  return 'grpc';
}

/**
 * Where OTLP goes. Over HTTP the general endpoint is a base URL that each
 * signal appends its path to, while the metrics one is used as it is (the
 * OTLP exporter specification).
 */
function otlpUrl(
  otlp: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
  protocol: OtlpProtocol,
): string {
  const url = checkHttpUrl('options.otlp.url', otlp['url']);
  if (url !== undefined) return url;
  const endpoint = checkHttpUrl('options.otlp.endpoint', otlp['endpoint']);
  if (endpoint !== undefined) {
    // A user who wrote the whole path meant it: appending would post to /v1/metrics/v1/metrics.
    return protocol === 'grpc' || new URL(endpoint).pathname.replace(/\/+$/, '').endsWith(METRICS_PATH)
      ? endpoint
      : withMetricsPath(endpoint);
  }
  const metrics = checkHttpUrl('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', envValue(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'));
  if (metrics !== undefined) return metrics;
  const base = checkHttpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'));
  if (protocol === 'grpc') return base ?? 'http://localhost:4317';
  return withMetricsPath(base ?? 'http://localhost:4318');
}

const METRICS_PATH = '/v1/metrics';

/** The signal path after the base URL's own path (`http://c:4318/otlp` -> `http://c:4318/otlp/v1/metrics`), query kept. */
function withMetricsPath(base: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${METRICS_PATH}`;
  return url.href;
}

/**
 * The option, else the general variable overlaid with the metrics one. Checked
 * only when OTLP is on: headers meant for another exporter must not stop this one.
 */
function otlpHeaders(
  otlp: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
  protocol: OtlpProtocol,
  on: boolean,
): Record<string, string> {
  const check = (name: string, headers: Record<string, string>): Record<string, string> =>
    on ? checkHeaders(name, headers, protocol) : headers;
  const option = checkStringRecord('options.otlp.headers', otlp['headers']);
  if (option !== undefined) return check('options.otlp.headers', option);
  const list = (name: string): Record<string, string> => check(name, parseKeyValueList(name, envValue(env, name)));
  return { ...list('OTEL_EXPORTER_OTLP_HEADERS'), ...list('OTEL_EXPORTER_OTLP_METRICS_HEADERS') };
}

const { idleTimeoutMs, headersTimeoutMs, requestTimeoutMs } = ENDPOINT_LIMITS;
export const DEFAULT_ENDPOINT_TIMEOUTS: EndpointTimeouts = { idleTimeoutMs, headersTimeoutMs, requestTimeoutMs };

function endpointTimeouts(prom: Readonly<Record<string, unknown>>): EndpointTimeouts {
  const option = (name: keyof EndpointTimeouts): number =>
    checkInteger(`options.prometheus.${name}`, prom[name], 1, MAX_TIMER_MS) ?? DEFAULT_ENDPOINT_TIMEOUTS[name];
  const requestTimeoutMs = option('requestTimeoutMs');
  return {
    idleTimeoutMs: option('idleTimeoutMs'),
    // Node refuses a headers timeout longer than the request timeout.
    headersTimeoutMs: Math.min(option('headersTimeoutMs'), requestTimeoutMs),
    requestTimeoutMs,
  };
}

/** Options first, then OTEL_* variables, then defaults. Throws typed errors naming the bad option or variable. */
export function resolveTelemetryConfig(options: TelemetryOptions = {}): TelemetryConfig {
  const opts = checkRecord('options', options) ?? {};
  const env = (checkRecord('options.env', opts['env']) ?? process.env) as Readonly<Record<string, string | undefined>>;
  const prom = checkRecord('options.prometheus', opts['prometheus']) ?? {};
  const otlp = checkRecord('options.otlp', opts['otlp']) ?? {};

  const exportIntervalMs =
    checkInteger('options.otlp.exportIntervalMs', otlp['exportIntervalMs'], 1, MAX_TIMER_MS) ??
    parseEnvInteger('OTEL_METRIC_EXPORT_INTERVAL', envValue(env, 'OTEL_METRIC_EXPORT_INTERVAL'), 1, MAX_TIMER_MS) ??
    DEFAULT_OTLP_EXPORT.intervalMs;
  const exportTimeoutMs =
    checkInteger('options.otlp.exportTimeoutMs', otlp['exportTimeoutMs'], 1, MAX_TIMER_MS) ??
    parseEnvInteger('OTEL_METRIC_EXPORT_TIMEOUT', envValue(env, 'OTEL_METRIC_EXPORT_TIMEOUT'), 1, MAX_TIMER_MS) ??
    DEFAULT_OTLP_EXPORT.timeoutMs;

  const temporalityEnv = envValue(env, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE')?.toLowerCase();
  const serviceName = checkString('options.serviceName', opts['serviceName']) ?? envValue(env, 'OTEL_SERVICE_NAME');
  const resourceAttributes = {
    ...parseKeyValueList('OTEL_RESOURCE_ATTRIBUTES', envValue(env, 'OTEL_RESOURCE_ATTRIBUTES')),
    ...checkStringRecord('options.resourceAttributes', opts['resourceAttributes']),
  };
  resourceAttributes['service.name'] = serviceName ?? resourceAttributes['service.name'] ?? 'procmetrics';

  const exporters = checkExporters(opts['exporters']) ?? parseExportersEnv(envValue(env, 'OTEL_METRICS_EXPORTER')) ?? ['prometheus'];
  // Only read when OTLP is on: a protocol meant for another exporter must not stop this one.
  const protocol = exporters.includes('otlp') ? otlpProtocol(otlp, env) : 'grpc';

  return {
    exporters,
    prometheus: {
      host: checkString('options.prometheus.host', prom['host']) ?? envValue(env, 'OTEL_EXPORTER_PROMETHEUS_HOST') ?? '127.0.0.1',
      port:
        checkInteger('options.prometheus.port', prom['port'], 0, 65_535) ??
        parseEnvInteger('OTEL_EXPORTER_PROMETHEUS_PORT', envValue(env, 'OTEL_EXPORTER_PROMETHEUS_PORT'), 0, 65_535) ??
        9464,
      ...endpointTimeouts(prom),
    },
    otlp: {
      protocol,
      url: otlpUrl(otlp, env, protocol),
      headers: otlpHeaders(otlp, env, protocol, exporters.includes('otlp')),
      exportIntervalMs,
      // The SDK's reader refuses a timeout longer than its interval.
      exportTimeoutMs: Math.min(exportTimeoutMs, exportIntervalMs),
      temporality:
        checkOneOf('options.otlp.temporality', otlp['temporality'], TEMPORALITIES) ??
        checkOneOf('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', temporalityEnv, TEMPORALITIES) ??
        'cumulative',
    },
    resourceAttributes,
  };
}
