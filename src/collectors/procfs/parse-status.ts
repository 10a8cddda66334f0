import { ByteScanner } from './byte-scanner.js';
import { ProcParseError } from './parse-error.js';

/** The fields of /proc/PID/status this package uses; null when the kernel does not print them (kernel threads). */
export interface ProcStatus {
  swapBytes: number | null;
  stackBytes: number | null;
  voluntaryContextSwitches: number | null;
  involuntaryContextSwitches: number | null;
  /** Affinity in list form, e.g. `0-3,8`; null when not asked for or absent. */
  cpusAllowedList: string | null;
}

/** /proc/PID/io storage counters, bytes. */
export interface ProcIo {
  readBytes: number;
  writeBytes: number;
}

const KIB = 1024;
const NEWLINE = 0x0a;
const TAB = 0x09;
const SPACE = 0x20;
/** Keys with the newline before them: every key but the first starts a line, and "\nvoluntary" is not inside "nonvoluntary". */
const key = (name: string): Buffer => Buffer.from(`\n${name}:`, 'latin1');
const VM_SWAP = key('VmSwap');
const VM_STK = key('VmStk');
const VOLUNTARY = key('voluntary_ctxt_switches');
const INVOLUNTARY = key('nonvoluntary_ctxt_switches');
const CPUS_ALLOWED_LIST = key('Cpus_allowed_list');
const READ_BYTES = key('read_bytes');
const WRITE_BYTES = key('write_bytes');
const NAME = Buffer.from('Name:', 'latin1');

const scanner = new ByteScanner();

/** Where the value after `needle` starts, -1 when there is no such line. */
function valueStart(bytes: Buffer, length: number, needle: Buffer): number {
  // The first line has no newline before it.
  const first = bytes.compare(needle, 1, needle.length, 0, Math.min(needle.length - 1, length)) === 0;
  const at = first ? -1 : bytes.indexOf(needle);
  if (!first && (at < 0 || at + needle.length > length)) return -1;
  let pos = at + needle.length;
  while (pos < length && (bytes[pos] === SPACE || bytes[pos] === TAB)) pos++;
  return pos;
}

/** The number on the `needle` line: null when there is no such line, -1 when it is not a number. */
function numberAfter(bytes: Buffer, length: number, needle: Buffer): number | null {
  const pos = valueStart(bytes, length, needle);
  if (pos < 0) return null;
  return scanner.reset(bytes, pos, length).uint();
}

/** Empty or cut short: line-based /proc files always end with a newline. */
function wholeFile(bytes: Uint8Array, length: number, file: string): ProcParseError | undefined {
  if (length === 0) return new ProcParseError(file, 'empty');
  if (bytes[length - 1] !== NEWLINE) return new ProcParseError(file, 'truncated (no final newline)');
  return undefined;
}

/** An empty status record to parse into. */
export function emptyProcStatus(): ProcStatus {
  return {
    swapBytes: null,
    stackBytes: null,
    voluntaryContextSwitches: null,
    involuntaryContextSwitches: null,
    cpusAllowedList: null,
  };
}

/**
 * Parses bytes[0, length) of /proc/PID/status into `out` without making a
 * string of it (the file is over a kilobyte). The affinity list is decoded only
 * when `withCpuList`, since callers need it once per process.
 */
export function parseStatusInto(bytes: Buffer, length: number, out: ProcStatus, withCpuList: boolean): ProcParseError | undefined {
  const bad = wholeFile(bytes, length, 'status');
  if (bad) return bad;
  if (bytes.compare(NAME, 0, NAME.length, 0, Math.min(NAME.length, length)) !== 0) {
    return new ProcParseError('status', 'does not start with Name:');
  }
  const swapKiB = numberAfter(bytes, length, VM_SWAP);
  const stackKiB = numberAfter(bytes, length, VM_STK);
  const voluntary = numberAfter(bytes, length, VOLUNTARY);
  const involuntary = numberAfter(bytes, length, INVOLUNTARY);
  if (swapKiB === -1 || stackKiB === -1 || voluntary === -1 || involuntary === -1) {
    return new ProcParseError('status', 'a VmSwap, VmStk or ctxt_switches line has no number');
  }
  out.swapBytes = swapKiB === null ? null : swapKiB * KIB;
  out.stackBytes = stackKiB === null ? null : stackKiB * KIB;
  out.voluntaryContextSwitches = voluntary;
  out.involuntaryContextSwitches = involuntary;
  out.cpusAllowedList = null;
  if (withCpuList) {
    const start = valueStart(bytes, length, CPUS_ALLOWED_LIST);
    if (start >= 0) out.cpusAllowedList = bytes.toString('latin1', start, bytes.indexOf(NEWLINE, start)).trim();
  }
  return undefined;
}

/** Parses /proc/PID/status text (or bytes) into a fresh record, affinity list included. */
export function parseStatus(input: string | Buffer): ProcStatus | ProcParseError {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const out = emptyProcStatus();
  return parseStatusInto(bytes, bytes.length, out, true) ?? out;
}

/** Parses bytes[0, length) of /proc/PID/io into `out`. */
export function parseIoInto(bytes: Buffer, length: number, out: ProcIo): ProcParseError | undefined {
  const bad = wholeFile(bytes, length, 'io');
  if (bad) return bad;
  const readBytes = numberAfter(bytes, length, READ_BYTES);
  const writeBytes = numberAfter(bytes, length, WRITE_BYTES);
  if (readBytes === null || writeBytes === null) return new ProcParseError('io', 'no read_bytes or write_bytes line');
  if (readBytes < 0 || writeBytes < 0) return new ProcParseError('io', 'read_bytes or write_bytes is not a number');
  out.readBytes = readBytes;
  out.writeBytes = writeBytes;
  return undefined;
}

/** Parses /proc/PID/io text (or bytes) into a fresh record. */
export function parseIo(input: string | Buffer): ProcIo | ProcParseError {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const out: ProcIo = { readBytes: 0, writeBytes: 0 };
  return parseIoInto(bytes, bytes.length, out) ?? out;
}
