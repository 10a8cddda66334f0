import { format } from 'node:util';
import type { DiagLogger } from '@opentelemetry/api';
import type { ExporterName } from '../../otel/config.js';
import { MissingPeerDependencyError } from '../../otel/optional-peer.js';
import { startTelemetry, type Telemetry } from '../../otel/telemetry.js';
import { formatHostPort } from '../../otel/prometheus.js';
import type { CommonOptions } from '../options/args.js';
import { UsageError } from '../options/errors.js';

/**
 * Starts the exporters the flags ask for; null when there are none. The flags
 * alone choose the exporters (OTEL_METRICS_EXPORTER is not consulted): the
 * Prometheus endpoint is on unless `--prometheus off`, OTLP is on with `--otlp
 * URL` or when an OTEL_EXPORTER_OTLP_*ENDPOINT variable is set.
 */
export async function startExporters(
  options: CommonOptions,
  env: Readonly<Record<string, string | undefined>>,
  stderr: { write(text: string): void },
): Promise<Telemetry | null> {
  const exporters: ExporterName[] = [];
  if (options.prometheus !== null) exporters.push('prometheus');
  if (options.otlp !== null) exporters.push('otlp');
  if (exporters.length === 0) return null;
  try {
    return await startTelemetry({
      exporters,
      env,
      diagLogger: diagTo(stderr),
      stateAttributes: options.stateLabels,
      // The command records nothing of its own: the SDK stays unloaded unless OTLP is on.
      applicationInstruments: false,
      ...(options.prometheus !== null ? { prometheus: options.prometheus } : {}),
      ...(typeof options.otlp === 'string' && options.otlp !== 'env' ? { otlp: { endpoint: options.otlp } } : {}),
    });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const where = options.prometheus === null ? '' : formatHostPort(options.prometheus.host, options.prometheus.port);
    if (code === 'EADDRINUSE') throw new UsageError(`--prometheus ${where}: port already in use`);
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES' || code === 'ENOTFOUND') {
      throw new UsageError(`--prometheus ${where}: cannot listen (${code})`);
    }
    if (error instanceof MissingPeerDependencyError) throw new UsageError(error.message);
    // Anything else is a bad OTEL_* variable or option, which startTelemetry names.
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/** OTel's diagnostics as `procmetrics: otel: ...` lines, through the session's stderr (above the live table). */
function diagTo(stderr: { write(text: string): void }): DiagLogger {
  const line = (message: string, ...args: unknown[]): void => stderr.write(`procmetrics: otel: ${format(message, ...args)}\n`);
  return { error: line, warn: line, info: line, debug: line, verbose: line };
}
