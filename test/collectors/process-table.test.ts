// The process table the CLI's resolvers use reads processes exactly as the collector does.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessTable, ProcfsCollector } from '../../src/collectors/index.js';
import { killAll, killAndWait, spawnIdle } from '../support/process.js';

const FIXTURE_PROC = join(fileURLToPath(new URL('../fixtures/procfs', import.meta.url)), 'proc');
/** btime of the fixture's /proc/stat, ms. */
const BOOT_MS = 1_700_000_000_000;

afterEach(killAll);

describe('ProcessTable', () => {
  it('lists the pids of its procfs root and reads their identity in ms', () => {
    const table = new ProcessTable(FIXTURE_PROC, 100);
    expect(table.pids().sort((a, b) => a - b)).toEqual([100, 200, 300, 400, 500]);
    // pid 100 started 1000 ticks (10 s at 100 Hz) after boot.
    expect(table.identity(100)).toEqual({ pid: 100, ppid: 1, state: 'S', startTime: BOOT_MS + 10_000 });
    expect(table.identity(999)).toBeNull();
    expect(table.path(100, 'cmdline')).toBe(`${FIXTURE_PROC}/100/cmdline`);
  });

  it('gives a real process the same start time as the collector', async () => {
    const child = spawnIdle();
    const collector = new ProcfsCollector();
    try {
      const [outcome] = await collector.sample([{ pid: child.pid }]);
      if (!outcome?.ok) throw new Error('the child should be readable');
      expect(new ProcessTable().identity(child.pid)?.startTime).toBe(outcome.sample.startTime);
    } finally {
      collector.close();
    }
    await killAndWait(child);
    expect(new ProcessTable().identity(child.pid)).toBeNull();
  });
});
