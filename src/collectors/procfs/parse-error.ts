/**
 * A /proc (or cgroup) file did not have the shape its parser expects: empty,
 * truncated, or not the file it claims to be. Parsers return it as a value
 * instead of throwing, so a sweep can keep going with the next process.
 */
export class ProcParseError extends Error {
  readonly code = 'ERR_PROC_PARSE';
  override readonly name = 'ProcParseError';
  constructor(
    /** Which file kind, e.g. `stat`, `statm`, `status`. */
    readonly file: string,
    /** What was wrong with it. */
    readonly reason: string,
  ) {
    super(`cannot parse ${file}: ${reason}`);
  }
}
