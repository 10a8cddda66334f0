// Runs in each test file's worker (setupFiles in vitest.config.ts): after the
// file, any process it started that still lives fails the file, named by pid
// and command line, and is killed so the next file starts clean.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll } from 'vitest';
import { allProcesses, commandLine, key, killEach, processesOfRun } from './leftovers.js';

// Taken when the setup file loads, before the test file is imported: what the
// file starts at its top level counts as its own.
const before = new Set([...allProcesses().values()].map(key));

afterAll(async () => {
  let left = processesOfRun(process.pid, before);
  // A child killed in the file's last hook may not have finished dying: give it
  // a moment before calling it a leftover.
  for (let tries = 0; left.length > 0 && tries < 20; tries++) {
    await sleep(50);
    left = processesOfRun(process.pid, before);
  }
  if (left.length === 0) return;
  const lines = left.map((proc) => `  pid ${proc.pid} (parent ${proc.ppid}): ${commandLine(proc.pid)}`);
  killEach(left);
  throw new Error(`this file left ${left.length} process(es) running (now killed):\n${lines.join('\n')}`);
});
