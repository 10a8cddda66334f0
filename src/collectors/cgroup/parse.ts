import { ProcParseError } from '../procfs/parse-error.js';
import type { StallSeconds } from '../../core/metrics.js';

/**
 * Parsers for cgroup files (v1 and v2). Pure: text in, numbers out; a
 * ProcParseError for text that is not what the file holds.
 */

/**
 * `key value` lines (cpu.stat, memory.stat, cpuacct.stat, v1 cpu.stat) as a
 * map. Values that are not whole numbers are skipped: a newer kernel may add
 * keys of another shape without breaking the ones read.
 */
export function parseKeyValues(text: string, file: string): Map<string, number> | ProcParseError {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const match = /^(\S+)\s+(\d+)\s*$/.exec(line);
    if (match?.[1] !== undefined) values.set(match[1], Number(match[2]));
  }
  if (values.size === 0) return new ProcParseError(file, text.trim() === '' ? 'empty' : 'no "key number" lines');
  return values;
}

/** Above this a v1 limit means "no limit": the kernel reports the largest page-aligned signed 64-bit value. */
const V1_UNLIMITED_BYTES = 2 ** 62;

/** memory.max (`max` or bytes) or memory.limit_in_bytes: bytes, null when unlimited. */
export function parseMemoryLimit(text: string, file: string): number | null | ProcParseError {
  const value = text.trim();
  if (value === 'max') return null;
  if (!/^\d+$/.test(value)) return new ProcParseError(file, `${JSON.stringify(value.slice(0, 40))} is not "max" or a number`);
  const bytes = Number(value);
  return bytes >= V1_UNLIMITED_BYTES ? null : bytes;
}

/** A file holding one number (memory.current, pids.current, cpuacct.usage). */
export function parseSingleNumber(text: string, file: string): number | ProcParseError {
  const value = text.trim();
  if (!/^\d+$/.test(value)) return new ProcParseError(file, `${JSON.stringify(value.slice(0, 40))} is not a number`);
  return Number(value);
}

/**
 * io.stat (v2): one line per device, `MAJ:MIN rbytes=N wbytes=N rios=N ...`;
 * bytes read and written, summed over devices. An empty file (no I/O yet) is zero.
 */
export function parseIoStat(text: string): { readBytes: number; writeBytes: number } | ProcParseError {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!/^\d+:\d+(\s|$)/.test(line))
      return new ProcParseError('io.stat', `line ${JSON.stringify(line.slice(0, 60))} does not start with MAJ:MIN`);
    for (const field of line.split(/\s+/).slice(1)) {
      const [key, value] = field.split('=');
      if (value === undefined || !/^\d+$/.test(value)) continue;
      if (key === 'rbytes') readBytes += Number(value);
      else if (key === 'wbytes') writeBytes += Number(value);
    }
  }
  return { readBytes, writeBytes };
}

/** cgroup.procs: one pid per line. */
export function parsePidList(text: string): number[] | ProcParseError {
  const pids: number[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (!/^\d+$/.test(line)) return new ProcParseError('cgroup.procs', `line ${JSON.stringify(line.slice(0, 40))} is not a pid`);
    pids.push(Number(line));
  }
  return pids;
}

/**
 * A `*.pressure` file (cpu, memory, io): lines `some avg10=.. avg60=.. avg300=.. total=µs`
 * and `full ...`; the cumulative `total`s in seconds. A line absent (cpu's
 * `full` before Linux 5.13) is null; a file with neither line is not one.
 */
export function parsePressure(text: string, file: string): StallSeconds | ProcParseError {
  const stall: StallSeconds = { some: null, full: null };
  for (const line of text.split('\n')) {
    const match = /^(some|full)\s.*\btotal=(\d+)\s*$/.exec(line);
    if (match?.[1] === 'some' || match?.[1] === 'full') stall[match[1]] = Number(match[2]) / 1e6;
  }
  if (stall.some === null && stall.full === null) {
    return new ProcParseError(file, text.trim() === '' ? 'empty' : 'no "some|full ... total=N" line');
  }
  return stall;
}
