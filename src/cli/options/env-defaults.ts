import { parseExportersEnv } from '../../otel/config.js';
import { DEFAULT_PROMETHEUS, parseHost, type HostPort } from './endpoint.js';
import { UsageError, quoteArg } from './errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Where the exporters go when neither a flag nor the config file says: from the standard OTEL_* variables. */
export interface EnvExporters {
  prometheus: HostPort | null;
  /** `env`: on, with endpoint, protocol and headers from OTEL_EXPORTER_OTLP_*. */
  otlp: 'env' | null;
}

const set = (env: Env, key: string): string | undefined => {
  const value = env[key]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

/**
 * OTEL_METRICS_EXPORTER picks the exporters (prometheus, otlp, none; console
 * is refused: stdout carries the command's own output). Unset, the Prometheus
 * endpoint is on and OTLP is on when an OTEL_EXPORTER_OTLP_*ENDPOINT says
 * where to send. OTEL_EXPORTER_PROMETHEUS_HOST and _PORT place the endpoint.
 */
export function exportersFromEnv(env: Env): EnvExporters {
  let chosen: readonly string[] | undefined;
  try {
    chosen = parseExportersEnv(set(env, 'OTEL_METRICS_EXPORTER'));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (chosen?.includes('console')) {
    throw new UsageError(
      `${quoteArg('OTEL_METRICS_EXPORTER', env['OTEL_METRICS_EXPORTER'] ?? '')}: console is not available here (stdout carries the command's output; use --json)`,
    );
  }
  const endpointSet =
    set(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined || set(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT') !== undefined;
  return {
    prometheus: chosen === undefined || chosen.includes('prometheus') ? prometheusFromEnv(env) : null,
    otlp: (chosen === undefined ? endpointSet : chosen.includes('otlp')) ? 'env' : null,
  };
}

function prometheusFromEnv(env: Env): HostPort {
  const hostText = set(env, 'OTEL_EXPORTER_PROMETHEUS_HOST');
  const portText = set(env, 'OTEL_EXPORTER_PROMETHEUS_PORT');
  const host = hostText === undefined ? DEFAULT_PROMETHEUS.host : parseHost(hostText, 'OTEL_EXPORTER_PROMETHEUS_HOST');
  let port = DEFAULT_PROMETHEUS.port;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if (port < 1 || port > 65_535) {
      throw new UsageError(`${quoteArg('OTEL_EXPORTER_PROMETHEUS_PORT', portText)}: expected a port 1-65535`);
    }
  }
  return { host, port };
}
