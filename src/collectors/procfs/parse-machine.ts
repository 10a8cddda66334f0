/** Parsers for machine-wide files, read once per collector: /proc/stat, /proc/meminfo, /proc/PID/limits. */
import { ProcParseError } from './parse-error.js';

const KIB = 1024;

/** Index of the line that starts with `prefix` (key plus separator), -1 when none does. */
function lineStart(text: string, prefix: string): number {
  if (text.startsWith(prefix)) return 0;
  const at = text.indexOf(`\n${prefix}`);
  return at < 0 ? -1 : at + 1;
}

/**
 * The number after `prefix` (a key and its separator) on the line that starts
 * with it; null when no line does, an error when the value is not a number.
 * Line-based /proc files always end with a newline, so callers check that first
 * to tell a truncated file from a missing key.
 */
function numberAfter(text: string, prefix: string, file: string): number | null | ProcParseError {
  const at = lineStart(text, prefix);
  if (at < 0) return null;
  let pos = at + prefix.length;
  while (text.charCodeAt(pos) === 0x20 || text.charCodeAt(pos) === 0x09) pos++;
  let value = 0;
  const start = pos;
  for (let code = text.charCodeAt(pos); code >= 0x30 && code <= 0x39; code = text.charCodeAt(++pos)) {
    value = value * 10 + (code - 0x30);
  }
  if (pos === start) return new ProcParseError(file, `${prefix.trim()} is not followed by a number`);
  return value;
}

function wholeFile(text: string, file: string): ProcParseError | undefined {
  if (text.length === 0) return new ProcParseError(file, 'empty');
  if (!text.endsWith('\n')) return new ProcParseError(file, 'truncated (no final newline)');
  return undefined;
}

/** A number that must be there: missing is an error too. */
function required(text: string, prefix: string, file: string): number | ProcParseError {
  const value = numberAfter(text, prefix, file);
  return value === null ? new ProcParseError(file, `no ${prefix.trim()} line`) : value;
}

/** Boot time from /proc/stat `btime`, seconds since the epoch. */
export function parseBootTime(text: string): number | ProcParseError {
  return wholeFile(text, 'stat') ?? required(text, 'btime ', 'stat');
}

/** Seconds since boot, the first field of /proc/uptime (e.g. `988.10 1353.09`). */
export function parseUptime(text: string): number | ProcParseError {
  const match = /^(\d+(?:\.\d+)?)\s/.exec(text);
  if (!match?.[1]) return new ProcParseError('uptime', text.length === 0 ? 'empty file' : 'no seconds since boot');
  return Number(match[1]);
}

/** MemTotal from /proc/meminfo, bytes. */
export function parseMemTotal(text: string): number | ProcParseError {
  const bad = wholeFile(text, 'meminfo');
  if (bad) return bad;
  const kib = required(text, 'MemTotal:', 'meminfo');
  return kib instanceof ProcParseError ? kib : kib * KIB;
}

/** The soft limit of open files from /proc/PID/limits; null when unlimited. */
export function parseOpenFilesLimit(text: string): number | null | ProcParseError {
  const line = /^Max open files\s+(\S+)/m.exec(text);
  if (!line?.[1]) return new ProcParseError('limits', 'no Max open files line');
  if (line[1] === 'unlimited') return null;
  if (!/^\d+$/.test(line[1])) return new ProcParseError('limits', `open files limit is ${JSON.stringify(line[1])}`);
  return Number(line[1]);
}
