import { COMMAND_DURATION_MS } from '../../core/limits.js';
import { UsageError, quoteArg } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/** Digits are capped so that a thousand-digit amount is refused by shape, not by arithmetic. */
const DURATION = /^(\d{1,12}(?:\.\d{1,6})?)(ms|s|m|h)$/;

/**
 * `500ms`, `5s`, `1.5s`, `1m`, `2h` -> milliseconds, within COMMAND_DURATION_MS (core/limits.ts says why the command's range is narrower than the library's).
 * A bare number is refused: `5` could mean seconds or milliseconds, and
 * guessing wrong is a 1000x error.
 */
export function parseDuration(text: string, flag: string): number {
  const match = DURATION.exec(text.trim());
  if (match === null) {
    throw new UsageError(`${quoteArg(flag, text)}: not a duration (use e.g. 500ms, 5s, 1m)`);
  }
  const [, amount = '', unit = 'ms'] = match;
  const ms = Math.round(Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]);
  const { min, max } = COMMAND_DURATION_MS;
  if (!(ms >= min && ms <= max)) {
    throw new UsageError(`${quoteArg(flag, text)}: must be between ${formatDuration(min)} and ${max / UNIT_MS.h}h`);
  }
  return ms;
}

/** Compact human duration: `850ms`, `12s`, `3m05s`, `2h07m`, `3d04h`. */
export function formatDuration(ms: number): string {
  if (!(ms >= 0) || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 60) return `${totalMinutes}m${pad2(totalSeconds % 60)}s`;
  const totalHours = Math.floor(totalMinutes / 60);
  if (totalHours < 24) return `${totalHours}h${pad2(totalMinutes % 60)}m`;
  return `${Math.floor(totalHours / 24)}d${pad2(totalHours % 24)}h`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
