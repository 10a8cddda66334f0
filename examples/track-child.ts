// Tracks a real child process for a few seconds and prints what the tracker sees.
// Run: npm run example
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ProcessState, Tracker } from '../src/index.js';

// A child that keeps about half of one core busy and holds 64 MiB.
const workload = `
  const held = Buffer.alloc(64 * 1024 * 1024, 1);
  setInterval(() => { const end = Date.now() + 50; while (Date.now() < end); }, 100);
  setInterval(() => held[0]++, 1000);
  process.on('disconnect', () => process.exit(0)); // the parent is gone: so are we
`;
const child = spawn(process.execPath, ['-e', workload], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
if (child.pid === undefined) throw new Error('could not start the child process');

const tracker = new Tracker(undefined, { collectionInterval: 1000, meterProvider: null });
await tracker.track('busy-child', child.pid);
tracker.start();

const mib = (bytes: number | null): string => (bytes === null ? '?' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
const stopAfter = setTimeout(() => child.kill('SIGTERM'), 6000);

for await (const m of tracker.subscribe()) {
  console.log(
    `${m.serviceName} pid=${m.pid} state=${m.state} cpu=${m.cpu.usagePercent.toFixed(1)}% ` +
      `rss=${mib(m.memory.rss)} vms=${mib(m.memory.vms)} threads=${m.numThreads ?? '?'} fds=${m.numFDs ?? '?'} ` +
      `uptime=${(m.uptime / 1000).toFixed(1)}s restarts=${m.restartCount}${m.lastError ? ` error="${m.lastError}"` : ''}`,
  );
  if (m.state === ProcessState.Failed || m.state === ProcessState.Stopped) break;
}

clearTimeout(stopAfter);
if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
await tracker.close();
