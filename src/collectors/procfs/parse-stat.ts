import { ByteScanner } from './byte-scanner.js';
import { ProcParseError } from './parse-error.js';

/**
 * The numbers of /proc/PID/stat this package uses, in the kernel's own units:
 * CPU times and the start time in clock ticks, sizes in pages or bytes as named.
 */
export interface ProcStatNumbers {
  /** One-letter state: R, S, D, Z, T, t, X, I, ... */
  state: string;
  ppid: number;
  minorFaults: number;
  /** Minor faults of reaped children. */
  childrenMinorFaults: number;
  majorFaults: number;
  /** Major faults of reaped children. */
  childrenMajorFaults: number;
  userTicks: number;
  systemTicks: number;
  /** CPU time of reaped children, ticks. */
  childrenUserTicks: number;
  childrenSystemTicks: number;
  numThreads: number;
  /** Start time, ticks after boot. */
  startTicks: number;
  vsizeBytes: number;
  rssPages: number;
}

/** /proc/PID/stat, with the command name. */
export interface ProcStat extends ProcStatNumbers {
  /** The command name between the parentheses, verbatim (it may hold spaces, parentheses, newlines). */
  comm: string;
}

/** /proc/PID/statm, all in pages. */
export interface ProcStatm {
  sizePages: number;
  residentPages: number;
  sharedPages: number;
  textPages: number;
  dataPages: number;
}

const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;
/** The last field read; fields are numbered from 1 as in proc(5). */
const LAST_STAT_FIELD = 24;
const STATM_FIELDS = 7;

const scanner = new ByteScanner();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An empty record to parse into; reuse it across calls on a hot path. */
export function emptyProcStat(): ProcStatNumbers {
  return {
    state: '',
    ppid: 0,
    minorFaults: 0,
    childrenMinorFaults: 0,
    majorFaults: 0,
    childrenMajorFaults: 0,
    userTicks: 0,
    systemTicks: 0,
    childrenUserTicks: 0,
    childrenSystemTicks: 0,
    numThreads: 0,
    startTicks: 0,
    vsizeBytes: 0,
    rssPages: 0,
  };
}

function statError(reason: string): ProcParseError {
  return new ProcParseError('stat', reason);
}

/**
 * Parses bytes[0, length) of /proc/PID/stat into `out` (left partly written on
 * error). The command name is whatever lies between the first '(' and the LAST
 * ')', since the name itself may contain ')'. Returns an error, never throws.
 */
export function parseStatInto(bytes: Uint8Array, length: number, out: ProcStatNumbers): ProcParseError | undefined {
  const s = scanner.reset(bytes, 0, length);
  const open = s.indexOf(OPEN_PAREN);
  const close = s.lastIndexOf(CLOSE_PAREN);
  if (open < 0 || close < open) return statError(length === 0 ? 'empty' : 'no command name in parentheses');
  s.pos = close + 1;
  if (!s.space()) return statError('truncated after the command name');
  const state = s.peek();
  if (state < 0x41 || state > 0x7a || !s.skipToken()) return statError('no state letter');
  out.state = String.fromCharCode(state);
  for (let field = 4; field <= LAST_STAT_FIELD; field++) {
    if (!s.space()) return statError(`truncated at field ${field}`);
    let value: number;
    switch (field) {
      case 4:
      case 10:
      case 11:
      case 12:
      case 13:
      case 14:
      case 15:
      case 16:
      case 17:
      case 20:
      case 22:
      case 23:
      case 24:
        value = s.uint();
        if (value < 0) return statError(`field ${field} is not a number`);
        break;
      default:
        if (!s.skipToken()) return statError(`truncated at field ${field}`);
        continue;
    }
    switch (field) {
      case 4:
        out.ppid = value;
        break;
      case 10:
        out.minorFaults = value;
        break;
      case 11:
        out.childrenMinorFaults = value;
        break;
      case 12:
        out.majorFaults = value;
        break;
      case 13:
        out.childrenMajorFaults = value;
        break;
      case 14:
        out.userTicks = value;
        break;
      case 15:
        out.systemTicks = value;
        break;
      case 16:
        out.childrenUserTicks = value;
        break;
      case 17:
        out.childrenSystemTicks = value;
        break;
      case 20:
        out.numThreads = value;
        break;
      case 22:
        out.startTicks = value;
        break;
      case 23:
        out.vsizeBytes = value;
        break;
      default:
        out.rssPages = value;
    }
    const next = s.peek();
    if (next !== 0x20 && next !== 0x0a && next !== -1) return statError(`field ${field} is not a number`);
  }
  return undefined;
}

/** Parses /proc/PID/stat text (or bytes) into a fresh record. */
export function parseStat(input: string | Uint8Array): ProcStat | ProcParseError {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  const out = emptyProcStat();
  const error = parseStatInto(bytes, bytes.length, out);
  if (error) return error;
  const open = bytes.indexOf(OPEN_PAREN);
  const close = bytes.lastIndexOf(CLOSE_PAREN);
  return { ...out, comm: decoder.decode(bytes.subarray(open + 1, close)) };
}

/** Parses bytes[0, length) of /proc/PID/statm into `out`. */
export function parseStatmInto(bytes: Uint8Array, length: number, out: ProcStatm): ProcParseError | undefined {
  const s = scanner.reset(bytes, 0, length);
  if (length === 0) return new ProcParseError('statm', 'empty');
  for (let field = 0; field < STATM_FIELDS; field++) {
    if (field > 0 && !s.space()) return new ProcParseError('statm', `truncated after ${field} fields`);
    const value = s.uint();
    if (value < 0) return new ProcParseError('statm', `field ${field + 1} is not a number`);
    switch (field) {
      case 0:
        out.sizePages = value;
        break;
      case 1:
        out.residentPages = value;
        break;
      case 2:
        out.sharedPages = value;
        break;
      case 3:
        out.textPages = value;
        break;
      case 5:
        out.dataPages = value;
        break;
      default:
    }
  }
  if (!s.atLineEnd()) return new ProcParseError('statm', 'trailing garbage');
  return undefined;
}

/** An empty statm record to parse into. */
export function emptyProcStatm(): ProcStatm {
  return { sizePages: 0, residentPages: 0, sharedPages: 0, textPages: 0, dataPages: 0 };
}

/** Parses /proc/PID/statm text (or bytes) into a fresh record. */
export function parseStatm(input: string | Uint8Array): ProcStatm | ProcParseError {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  const out = emptyProcStatm();
  return parseStatmInto(bytes, bytes.length, out) ?? out;
}
