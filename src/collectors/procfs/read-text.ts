import { closeSync, openSync, readSync } from 'node:fs';

let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * Reads a small file (procfs, cgroupfs) as latin1 text. Those files report size
 * 0, for which `readFileSync` allocates 64 KiB per call; thousands of first reads
 * in a sweep then turn into garbage-collector pauses. This reuses one buffer.
 * Throws the errno error of open or read.
 */
export function readSmallFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      const read = readSync(fd, scratch, length, scratch.length - length, length);
      if (read === 0) break;
      length += read;
      if (length === scratch.length) {
        const grown = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(grown);
        scratch = grown;
      }
    }
    return scratch.toString('latin1', 0, length);
  } finally {
    closeSync(fd);
  }
}
