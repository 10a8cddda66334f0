import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessNotFoundError } from '../../src/core/errors.js';
import { ProcParseError, ProcfsCollector } from '../../src/collectors/index.js';
import type { ProcfsCollectorOptions } from '../../src/collectors/index.js';
import { closeCollectors, procfsCollector, sampleOf } from '../support/collectors.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/procfs', import.meta.url));
/** btime of the fixture's /proc/stat, ms. */
const BOOT_MS = 1_700_000_000_000;
const PAGE = 4096;

const copies: string[] = [];
afterEach(() => {
  closeCollectors();
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fixtureCollector(root = FIXTURE, options: ProcfsCollectorOptions = {}): ProcfsCollector {
  return procfsCollector({ procRoot: join(root, 'proc'), hostRoot: root, clockTicksPerSecond: 100, pageSizeBytes: PAGE, ...options });
}

/** A writable copy of the fixture tree, for tests that change it between sweeps. */
function fixtureCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'procmetrics-fixture-'));
  copies.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe('ProcfsCollector over a fixture /proc', () => {
  it('turns ticks into CPU seconds, pages into bytes and the start tick into a ms timestamp', async () => {
    const [outcome] = await fixtureCollector().sample([{ pid: 100 }]);
    expect(sampleOf(outcome)).toMatchObject({
      pid: 100,
      startTime: BOOT_MS + 1000 * 10,
      cpu: { user: 2.5, system: 0.5, childrenUser: 0.1, childrenSystem: 0.05 },
      memory: { rss: 452 * PAGE, vms: 730 * PAGE, shared: 424 * PAGE, data: 89 * PAGE, swap: 64 * 1024, stack: 132 * 1024 },
      numThreads: 3,
      numFDs: 3,
      readBytes: 8192,
      writeBytes: 4096,
      voluntaryContextSwitches: 42,
      involuntaryContextSwitches: 7,
      majorFaults: 2,
      minorFaults: 143,
    });
  });

  it('takes the smaller of affinity and the cgroup quota of the process and its ancestors', async () => {
    const outcomes = await fixtureCollector().sample([{ pid: 100 }, { pid: 200 }, { pid: 400 }]);
    // 100: affinity 0-3, v2 cpu.max 1.5 CPUs at /app/web (its parent /app is unlimited).
    expect(sampleOf(outcomes[0]).cpusAvailable).toBe(1.5);
    // 200: affinity 0-1,3, v1 CFS quota 50000/100000 at /limited.
    expect(sampleOf(outcomes[1]).cpusAvailable).toBe(0.5);
    // 400: no quota anywhere: the affinity count.
    expect(sampleOf(outcomes[2]).cpusAvailable).toBe(8);
  });

  it('reads the command name with parentheses and a newline without shifting fields', async () => {
    const [outcome] = await fixtureCollector().sample([{ pid: 200 }]);
    expect(sampleOf(outcome)).toMatchObject({ startTime: BOOT_MS + 2000 * 10, cpu: { user: 2.5 }, numThreads: 3 });
  });

  it('leaves fields it cannot read null and counts them, without failing the process', async () => {
    const collector = fixtureCollector();
    await collector.sample([{ pid: 200 }, { pid: 400 }]);
    const outcomes = await collector.sample([{ pid: 200 }, { pid: 400 }]);
    expect(sampleOf(outcomes[0])).toMatchObject({ readBytes: null, writeBytes: null, numFDs: 1 });
    // A kernel-thread-like status has no VmSwap/VmStk; its fd directory is missing here.
    expect(sampleOf(outcomes[1])).toMatchObject({ memory: { swap: null, stack: null }, numFDs: null, readBytes: 0 });
    expect(collector.errorCounts().get('io:ENOENT')).toBe(2);
    expect(collector.errorCounts().get('fd:ENOENT')).toBe(2);
  });

  it('fails only the process with a bad stat file, with a ProcParseError', async () => {
    const collector = fixtureCollector();
    const outcomes = await collector.sample([{ pid: 100 }, { pid: 300 }, { pid: 400 }]);
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, true]);
    const failed = outcomes[1];
    expect(failed?.ok === false && failed.error).toBeInstanceOf(ProcParseError);
    expect(collector.errorCounts().get('stat:ERR_PROC_PARSE')).toBe(1);
  });

  it('reports missing pids, zombies and invalid pids per target, in target order', async () => {
    const outcomes = await fixtureCollector().sample([{ pid: 999 }, { pid: 500 }, { pid: -1 }, { pid: 100 }]);
    const [missing, zombie, invalid, fine] = outcomes;
    expect(missing?.ok === false && missing.error).toBeInstanceOf(ProcessNotFoundError);
    expect(zombie?.ok === false && zombie.error).toMatchObject({ code: 'ESRCH', pid: 500 });
    expect(invalid?.ok === false && invalid.error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(fine?.ok).toBe(true);
  });

  it('reports a pid whose start time changed (pid reuse) as ProcessNotFoundError', async () => {
    const root = fixtureCopy();
    const collector = fixtureCollector(root);
    const first = sampleOf((await collector.sample([{ pid: 100 }]))[0]);

    // Same pid, a process that started later: rewrite the file in place, as a fresh process would.
    const statPath = join(root, 'proc/100/stat');
    writeFileSync(statPath, readFileSync(statPath, 'utf8').replace(' 1000 2990080 ', ' 4242 2990080 '));

    const [pinned] = await collector.sample([{ pid: 100, startTime: first.startTime }]);
    expect(pinned?.ok).toBe(false);
    expect(pinned?.ok === false && pinned.error).toBeInstanceOf(ProcessNotFoundError);

    // Without a pinned start time the caller asks for whatever runs at that pid now.
    const [fresh] = await collector.sample([{ pid: 100 }]);
    expect(sampleOf(fresh).startTime).toBe(BOOT_MS + 42_420);
  });

  it('basic fields read only stat and statm', async () => {
    const [outcome] = await fixtureCollector(FIXTURE, { fields: 'basic' }).sample([{ pid: 100 }]);
    expect(sampleOf(outcome)).toMatchObject({
      cpu: { user: 2.5 },
      memory: { rss: 452 * PAGE, swap: null, stack: null },
      numFDs: null,
      readBytes: null,
      voluntaryContextSwitches: null,
      minorFaults: 143,
    });
  });

  it('holds fds up to the cap, then reads by open/read/close', async () => {
    const collector = fixtureCollector(FIXTURE, { fields: 'basic', maxOpenFds: 2 });
    const outcomes = await collector.sample([{ pid: 100 }, { pid: 200 }, { pid: 400 }]);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(collector.openFdCount).toBe(2);
    collector.release(100);
    expect(collector.openFdCount).toBe(0);
  });

  it('rejects options that make no sense, naming them', () => {
    expect(() => new ProcfsCollector({ fields: 'most' as 'full' })).toThrow(/fields/);
    expect(() => new ProcfsCollector({ chunkSize: 0 })).toThrow(/chunkSize/);
    expect(() => new ProcfsCollector({ forgetAfterSweeps: 1.5 })).toThrow(/forgetAfterSweeps/);
    expect(() => new ProcfsCollector({ maxOpenFds: -1 })).toThrow(/maxOpenFds/);
    expect(() => new ProcfsCollector({ chunkBudgetMs: Number.NaN })).toThrow(/chunkBudgetMs/);
  });
});
