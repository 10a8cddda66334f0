/**
 * Errors the command reports on one line of stderr and turns into an exit code.
 * Everything else that escapes is a bug and exits 1 with its stack.
 */

/** Bad input: an unknown flag, a malformed value, a bad config file, a taken port. Exit 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  readonly exitCode = 2;
  override readonly name = 'UsageError';
}

/** A target that was asked for does not exist (a pid, or with --once any target). Exit 1. */
export class TargetNotFoundError extends Error {
  readonly code = 'ENOENT_TARGET';
  readonly exitCode = 1;
  override readonly name = 'TargetNotFoundError';
}

export type CliError = UsageError | TargetNotFoundError;

export function isCliError(error: unknown): error is CliError {
  return error instanceof UsageError || error instanceof TargetNotFoundError;
}

/** Longest part of a value quoted in a message, in characters: the message stays one readable line. */
const QUOTED_MAX = 120;

/**
 * `--flag "value"`: how every message names the argument it is about. JSON
 * quoting escapes control characters, so a value cannot break the line or
 * drive the terminal; a long value is cut, with how long it was.
 */
export function quoteArg(flag: string, value: string): string {
  return `${flag} ${quoteValue(value)}`;
}

export function quoteValue(value: string): string {
  if (value.length <= QUOTED_MAX) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, QUOTED_MAX))}... (${value.length} characters)`;
}
