import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

/**
 * One gzip stream per client, made of pieces compressed once for all clients.
 *
 * Each piece is raw deflate from a fresh compressor, ended with a sync flush:
 * it refers to nothing before it and ends on a byte boundary with no final
 * block, so any run of pieces, after a gzip header, is a valid deflate stream.
 * What is per client is only the header, the trailer (an empty final block,
 * the CRC-32 and the length of what the client got) and the running CRC, which
 * is combined from each piece's own CRC without reading the piece again.
 */

/** A piece of a gzip stream: its text, the text compressed, and the text's CRC-32. */
export interface GzipPiece {
  readonly plain: Buffer;
  readonly deflated: Buffer;
  readonly crc: number;
}

/** Level 1: the text is JSON that compresses well at any level, and the pieces are made on every tick. */
const DEFLATE_OPTIONS: zlib.ZlibOptions = { level: 1, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const deflateRawAsync = promisify(zlib.deflateRaw);

/** zlib.crc32 came in Node.js 20.15 and 22.2; before it the stream is sent uncompressed. */
const crc32: ((data: Buffer, value?: number) => number) | undefined = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;

/** Whether gzip pieces can be made on this Node.js. */
export const GZIP_PIECES_AVAILABLE = typeof crc32 === 'function';

/**
 * Texts up to this size are compressed on the event loop (about 3 ms at most):
 * the thread pool's round trip costs a third more CPU than the compression itself.
 */
const COMPRESS_IN_PLACE_MAX_BYTES = 1024 * 1024;

/** Compresses `plain`: in the thread pool, off the event loop, when it is large. */
export async function gzipPiece(plain: Buffer): Promise<GzipPiece> {
  if (plain.length <= COMPRESS_IN_PLACE_MAX_BYTES) return gzipPieceSync(plain);
  return { plain, deflated: await deflateRawAsync(plain, DEFLATE_OPTIONS), crc: (crc32 as NonNullable<typeof crc32>)(plain) };
}

/** Compresses `plain` at once: for the small texts of one client. */
export function gzipPieceSync(plain: Buffer): GzipPiece {
  return { plain, deflated: zlib.deflateRawSync(plain, DEFLATE_OPTIONS), crc: (crc32 as NonNullable<typeof crc32>)(plain) };
}

/** ID1 ID2, deflate, no flags, no time, no extra flags, unknown OS. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** A fixed-Huffman block with only its end code, marked final: what closes a stream of sync-flushed pieces. */
const FINAL_EMPTY_BLOCK = Buffer.from([0x03, 0x00]);

/** The running CRC-32 and length of what one client has been sent. */
export class GzipTally {
  #crc = 0;
  #length = 0;

  add(piece: GzipPiece): void {
    this.#crc = crc32Combine(this.#crc, piece.crc, piece.plain.length);
    this.#length = (this.#length + piece.plain.length) % 2 ** 32;
  }

  /** The end of the stream: the final block, then CRC-32 and length, little-endian. */
  trailer(): Buffer {
    const end = Buffer.alloc(FINAL_EMPTY_BLOCK.length + 8);
    FINAL_EMPTY_BLOCK.copy(end);
    end.writeUInt32LE(this.#crc >>> 0, FINAL_EMPTY_BLOCK.length);
    end.writeUInt32LE(this.#length, FINAL_EMPTY_BLOCK.length + 4);
    return end;
  }
}

/** The reflected CRC-32 polynomial. */
const POLY = 0xedb88320;

/** a(x) * b(x) modulo the CRC polynomial, both reflected (bit 31 is x^0). */
function multiplyModPoly(a: number, b: number): number {
  let product = 0;
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= b;
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0..31. */
const X_POW_2K: readonly number[] = (() => {
  const table = [1 << 30]; // x^1
  for (let k = 1; k < 32; k++) table.push(multiplyModPoly(table[k - 1] as number, table[k - 1] as number));
  return table;
})();

/**
 * The CRC-32 of A followed by B, from the CRC of A, the CRC of B and the
 * length of B: A's CRC is moved past B's bits (multiplied by x^(8*lengthB)),
 * then B's is added.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  // x^(8 * lengthB), from the binary digits of lengthB, starting at x^8 = x^(2^3).
  let shift = 0x80000000; // x^0
  for (let n = lengthB, k = 3; n > 0; n = Math.floor(n / 2), k++)
    if (n % 2 === 1) shift = multiplyModPoly(X_POW_2K[k % 32] as number, shift);
  return (multiplyModPoly(shift, crcA) ^ crcB) >>> 0;
}

/** Whether an Accept-Encoding header takes gzip (and does not refuse it with q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
