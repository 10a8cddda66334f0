// Allocates and touches a known amount of memory when asked.
// usage: node alloc.mjs MIB
// IPC: 'alloc' -> allocates MIB MiB, writes one byte per 4 KiB page so every page
// is resident, replies { rss } (bytes, as the process itself sees it).
const mib = Number(process.argv[2] ?? 200);
const held = [];

process.on('message', (message) => {
  if (message === 'rss') process.send({ rss: process.memoryUsage().rss });
  if (message !== 'alloc') return;
  const buffer = Buffer.allocUnsafeSlow(mib * 1024 * 1024);
  for (let i = 0; i < buffer.length; i += 4096) buffer[i] = 1;
  held.push(buffer);
  process.send({ rss: process.memoryUsage().rss });
});
process.on('disconnect', () => process.exit(0));
setInterval(() => {}, 1 << 30);
process.send('ready');
