import { execFileSync } from 'node:child_process';
import { uptime } from 'node:os';
import { parseBootTime, parseOpenFilesLimit, parseUptime } from './parse-machine.js';
import { ProcParseError } from './parse-error.js';
import { readSmallFile } from './read-text.js';
import { HostRoot } from './host-root.js';

/** Facts about the machine that do not change while it runs: read once, never per sample. */
export interface MachineConstants {
  /** Kernel clock ticks per second (CLK_TCK), the unit of CPU times in /proc. */
  clockTicksPerSecond: number;
  /** Page size, bytes: the unit of statm. */
  pageSizeBytes: number;
}

const FALLBACK: MachineConstants = { clockTicksPerSecond: 100, pageSizeBytes: 4096 };
let cached: MachineConstants | undefined;

/**
 * CLK_TCK and the page size from one `getconf` run per Node process (Node has
 * no sysconf); 100 and 4096, the values of almost every Linux build, when
 * getconf is missing or prints something else.
 */
export function machineConstants(): MachineConstants {
  if (cached) return cached;
  try {
    const out = execFileSync('/bin/sh', ['-c', 'getconf CLK_TCK; getconf PAGESIZE'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    }).split('\n');
    const ticks = Number(out[0]);
    const page = Number(out[1]);
    cached = {
      clockTicksPerSecond: Number.isSafeInteger(ticks) && ticks > 0 ? ticks : FALLBACK.clockTicksPerSecond,
      pageSizeBytes: Number.isSafeInteger(page) && page > 0 ? page : FALLBACK.pageSizeBytes,
    };
  } catch {
    cached = FALLBACK;
  }
  return cached;
}

function readParsed<T>(path: string, parse: (text: string) => T | ProcParseError): T | undefined {
  try {
    const value = parse(readSmallFile(path));
    return value instanceof ProcParseError ? undefined : value;
  } catch {
    return undefined;
  }
}

const bootTimes = new Map<string, number>();

/**
 * Boot time, ms since epoch, read once per procfs root so that every collector
 * computes the same start time for a process.
 *
 * `btime` in <proc>/stat is whole seconds, which would put every start time
 * up to a second early (a process spawned a moment ago would show an uptime
 * near one second). <proc>/uptime has centisecond resolution, so "now minus
 * uptime" is used when it agrees with btime; when the two disagree (a clock
 * stepped since boot), btime, the kernel's own figure, wins.
 */
export function readBootTimeMs(root: HostRoot): number {
  const known = bootTimes.get(root.proc);
  if (known !== undefined) return known;
  const btimeMs = readParsed(root.procFile('stat'), parseBootTime);
  const uptimeSeconds = readParsed(root.procFile('uptime'), parseUptime);
  const fromUptimeMs = uptimeSeconds === undefined ? undefined : Date.now() - uptimeSeconds * 1000;
  let bootMs: number;
  if (btimeMs === undefined) bootMs = fromUptimeMs ?? Date.now() - uptime() * 1000;
  else if (fromUptimeMs !== undefined && Math.abs(fromUptimeMs - btimeMs * 1000) < 1500) bootMs = fromUptimeMs;
  else bootMs = btimeMs * 1000;
  bootMs = Math.round(bootMs);
  bootTimes.set(root.proc, bootMs);
  return bootMs;
}

/**
 * This process's soft limit of open files (Node raises it to the hard limit at
 * start); 1024, the usual default, when /proc/self/limits cannot be read.
 */
export function readOpenFilesLimit(root: HostRoot = HostRoot.live): number {
  const limit = readParsed(root.pid('self', 'limits'), parseOpenFilesLimit);
  if (limit === undefined) return 1024;
  return limit ?? Number.MAX_SAFE_INTEGER;
}
