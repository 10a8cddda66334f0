/**
 * The OTLP exporters (and gRPC, protobuf under them) are optional peer
 * dependencies: an application that only tracks, or only serves Prometheus,
 * never installs them; one that pushes OTLP has them already when it runs the
 * OpenTelemetry NodeSDK, which depends on both.
 */

/** An optional peer dependency that a chosen exporter needs is not installed. */
export class MissingPeerDependencyError extends Error {
  override readonly name = 'MissingPeerDependencyError';
  readonly code = 'ERR_PROCMETRICS_MISSING_PEER';
  constructor(
    /** What needed them, e.g. `OTLP over grpc`. */
    readonly feature: string,
    /** The packages to install beside procmetrics. */
    readonly packages: readonly string[],
    cause: unknown,
  ) {
    super(`${feature} needs ${packages.join(' and ')}, which are not installed: npm install ${packages.join(' ')}`, { cause });
  }
}

function isModuleNotFound(error: unknown, specifier: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${specifier}'`);
}

/**
 * Loads optional peers, named by `load`'s specifiers, and turns "not installed"
 * into a MissingPeerDependencyError naming all of them; any other failure
 * (a broken install, a module that throws) passes through unchanged.
 */
export async function loadOptionalPeers<T>(feature: string, packages: readonly string[], load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (packages.some((name) => isModuleNotFound(error, name))) throw new MissingPeerDependencyError(feature, packages, error);
    throw error;
  }
}
