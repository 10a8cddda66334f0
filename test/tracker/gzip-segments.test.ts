import { randomBytes } from 'node:crypto';
import { crc32, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptsGzip, crc32Combine, GZIP_HEADER, GzipTally, gzipPiece, gzipPieceSync } from '../../src/tracker/gzip-segments.js';

describe('gzip pieces', () => {
  it('combine CRC-32s as zlib computes the CRC of the whole, for any lengths', () => {
    const lengths = [0, 1, 3, 4, 255, 4096, 65_537, 300_000];
    for (const a of lengths)
      for (const b of lengths) {
        const first = randomBytes(a);
        const second = randomBytes(b);
        expect(crc32Combine(crc32(first), crc32(second), b)).toBe(crc32(Buffer.concat([first, second])));
      }
  });

  it('make one gzip member of pieces compressed apart, whatever their sizes', async () => {
    // The first is over 1 MiB: compressed in the thread pool; the others on the event loop.
    const texts = [
      'y'.repeat(1_500_000),
      'retry: 2000\n\n',
      '',
      'x'.repeat(200_000),
      JSON.stringify({ cpu: Math.random() }).repeat(500),
      randomBytes(5000).toString('hex'),
    ];
    const tally = new GzipTally();
    const wire: Buffer[] = [GZIP_HEADER];
    for (const [i, text] of texts.entries()) {
      const piece = i % 2 === 0 ? await gzipPiece(Buffer.from(text)) : gzipPieceSync(Buffer.from(text));
      tally.add(piece);
      wire.push(piece.deflated);
    }
    wire.push(tally.trailer());
    expect(gunzipSync(Buffer.concat(wire)).toString()).toBe(texts.join(''));
    // A wrong length in the trailer is caught by gunzip: the trailer is checked, not ignored.
    const broken = Buffer.concat(wire);
    broken.writeUInt32LE(1, broken.length - 4);
    expect(() => gunzipSync(broken)).toThrow();
  });

  it('read Accept-Encoding as HTTP means it', () => {
    expect(acceptsGzip('gzip, deflate')).toBe(true);
    expect(acceptsGzip('br;q=1.0, GZIP;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
