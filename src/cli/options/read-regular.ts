import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** The first bytes of a regular file, how large the whole file is, and when it was last written (ms since epoch). */
export type RegularFileRead = { ok: true; head: Buffer; sizeBytes: number; modifiedMs: number } | { ok: false; problem: string };

/**
 * Reads at most `maxBytes` from the start of `path`, and only when it is a
 * regular file. Opened with O_NONBLOCK so that a FIFO or a device answers at
 * once (and is then refused) instead of blocking a thread until someone writes
 * to it; O_NOCTTY so that a terminal named here never becomes ours. A huge
 * file costs one bounded read, whatever its size.
 * `problem` is an errno code (`ENOENT`, `EACCES`, ...) or `a FIFO, not a regular file`:
 * never anything read from the file.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<RegularFileRead> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    return { ok: false, problem: errnoOf(error) };
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { ok: false, problem: `${kindOf(stats)}, not a regular file` };
    // Not sized by st_size: files in /proc and /sys report 0 and still have content.
    const head = Buffer.alloc(maxBytes);
    let filled = 0;
    // A file shrinking under us ends the loop early (bytesRead 0): what was read is the answer.
    while (filled < head.length) {
      const { bytesRead } = await handle.read(head, filled, head.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { ok: true, head: head.subarray(0, filled), sizeBytes: stats.size, modifiedMs: stats.mtimeMs };
  } catch (error) {
    return { ok: false, problem: errnoOf(error) };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function errnoOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'read failed';
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a file';
}
