/**
 * Read failures counted by `source:code` (e.g. `io:EACCES`). A permission error
 * on another user's process happens on every sweep; counting it keeps the
 * evidence without flooding a log.
 */
export class ErrorCounts {
  private readonly counts = new Map<string, number>();

  /** Counts one failure of `source` (a file or field name) with the error's code. */
  add(source: string, error: unknown): void {
    this.addCode(source, errorCode(error));
  }

  addCode(source: string, code: string): void {
    const key = `${source}:${code}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** A copy, so callers cannot change the counters. */
  snapshot(): ReadonlyMap<string, number> {
    return new Map(this.counts);
  }
}

/** The `code` of a Node or typed error, else its name. */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code.length > 0) return code;
    if (typeof name === 'string' && name.length > 0) return name;
  }
  return 'UNKNOWN';
}
