// Writes a known number of bytes to a file, with fsync, when asked.
// usage: node write.mjs PATH BYTES
// IPC: 'write' -> writes BYTES in 1 MiB chunks, fsyncs, replies { written }.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

const [path, bytesArg] = process.argv.slice(2);
const total = Number(bytesArg ?? 8 * 1024 * 1024);

process.on('message', (message) => {
  if (message !== 'write') return;
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1024 * 1024, 7);
  let written = 0;
  while (written < total) written += writeSync(fd, chunk, 0, Math.min(chunk.length, total - written));
  fsyncSync(fd);
  closeSync(fd);
  process.send({ written });
});
process.on('disconnect', () => process.exit(0));
setInterval(() => {}, 1 << 30);
process.send('ready');
