import { ProcParseError } from './parse-error.js';

/** What /proc/PID/smaps_rollup tells about memory shared with other processes, bytes. */
export interface ProcSmapsRollup {
  /** Proportional set size: each shared resident page divided by the number of processes mapping it. */
  pssBytes: number;
  /** Unique set size: Private_Clean + Private_Dirty, the resident pages no other process maps. */
  ussBytes: number;
}

/** The kB figure on the line that starts with `key` (its colon included); null when there is none. */
function kilobytes(text: string, key: string): number | null {
  const at = text.startsWith(key) ? 0 : text.indexOf(`\n${key}`);
  if (at < 0) return null;
  const match = /^\s*(\d+) kB/.exec(text.slice(at + (at === 0 ? 0 : 1) + key.length, at + key.length + 40));
  return match === null ? null : Number(match[1]) * 1024;
}

export function parseSmapsRollup(text: string): ProcSmapsRollup | ProcParseError {
  const pss = kilobytes(text, 'Pss:');
  const clean = kilobytes(text, 'Private_Clean:');
  const dirty = kilobytes(text, 'Private_Dirty:');
  if (pss === null || clean === null || dirty === null) {
    return new ProcParseError('smaps_rollup', 'no Pss, Private_Clean or Private_Dirty line');
  }
  return { pssBytes: pss, ussBytes: clean + dirty };
}
