import { ProcParseError } from './parseError.js';

/** The fields of /proc/PID/status this package uses; null when the kernel does not print them (kernel threads). */
export interface ProcStatus {
  swapBytes: number | null;
  stackBytes: number | null;
  voluntaryContextSwitches: number | null;
  involuntaryContextSwitches: number | null;
  /** Affinity in list form, e.g. `0-3,8`. */
  cpusAllowedList: string | null;
}

/** /proc/PID/io storage counters, bytes. */
export interface ProcIo {
  readBytes: number;
  writeBytes: number;
}

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

function valueAfter(text: string, prefix: string): string | null {
  const at = lineStart(text, prefix);
  if (at < 0) return null;
  const end = text.indexOf('\n', at);
  return text.slice(at + prefix.length, end < 0 ? undefined : end).trim();
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

/** Parses /proc/PID/status. */
export function parseStatus(text: string): ProcStatus | ProcParseError {
  const bad = wholeFile(text, 'status');
  if (bad) return bad;
  if (!text.startsWith('Name:')) return new ProcParseError('status', 'does not start with Name:');
  const swapKiB = numberAfter(text, 'VmSwap:', 'status');
  const stackKiB = numberAfter(text, 'VmStk:', 'status');
  const voluntary = numberAfter(text, 'voluntary_ctxt_switches:', 'status');
  const involuntary = numberAfter(text, 'nonvoluntary_ctxt_switches:', 'status');
  for (const value of [swapKiB, stackKiB, voluntary, involuntary]) if (value instanceof ProcParseError) return value;
  return {
    swapBytes: typeof swapKiB === 'number' ? swapKiB * KIB : null,
    stackBytes: typeof stackKiB === 'number' ? stackKiB * KIB : null,
    voluntaryContextSwitches: voluntary as number | null,
    involuntaryContextSwitches: involuntary as number | null,
    cpusAllowedList: valueAfter(text, 'Cpus_allowed_list:'),
  };
}

/** Parses /proc/PID/io. */
export function parseIo(text: string): ProcIo | ProcParseError {
  const bad = wholeFile(text, 'io');
  if (bad) return bad;
  const readBytes = required(text, 'read_bytes:', 'io');
  if (readBytes instanceof ProcParseError) return readBytes;
  const writeBytes = required(text, 'write_bytes:', 'io');
  if (writeBytes instanceof ProcParseError) return writeBytes;
  return { readBytes, writeBytes };
}

/** Boot time from /proc/stat `btime`, seconds since the epoch. */
export function parseBootTime(text: string): number | ProcParseError {
  return wholeFile(text, 'stat') ?? required(text, 'btime ', 'stat');
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
