// A collector with only the original two methods, served through the one adapter.
import { describe, expect, it } from 'vitest';
import { ProcessNotFoundError, type PerPidCollector, type ProcessCPU, type ProcessMemory } from '../../src/index.js';
import { waitFor } from '../support/process.js';
import { trackerFactory } from '../support/trackers.js';

/** The original contract over an in-memory table; a pid in `hanging` never answers. */
class TwoMethods implements PerPidCollector {
  readonly cpuSeconds = new Map<number, number>();
  readonly hanging = new Set<number>();
  memoryFails = false;
  calls = 0;

  async collectCPU(pid: number): Promise<ProcessCPU> {
    const user = await this.#read(pid);
    return {
      pid,
      timestamp: Date.now(),
      user,
      system: 0,
      childrenUser: 0,
      childrenSystem: 0,
      startTime: 0,
      usagePercent: 99,
      userPercent: 99,
      systemPercent: 0,
      cpusAvailable: null,
    };
  }

  async collectMemory(pid: number): Promise<ProcessMemory> {
    await this.#read(pid);
    if (this.memoryFails) throw Object.assign(new Error('denied'), { code: 'EACCES' });
    return { pid, timestamp: Date.now(), rss: 4096, vms: null, shared: null, swap: null, data: null, stack: null, usagePercent: 0 };
  }

  async #read(pid: number): Promise<number> {
    this.calls += 1;
    if (this.hanging.has(pid)) await new Promise(() => {});
    const seconds = this.cpuSeconds.get(pid);
    if (seconds === undefined) throw new ProcessNotFoundError(pid);
    return seconds;
  }
}

const newTracker = trackerFactory({ collectionInterval: 40 });

describe('a two-method collector', () => {
  it('is tracked and sampled; its own CPU percentages are ignored', async () => {
    const two = new TwoMethods();
    two.cpuSeconds.set(7, 1);
    const tracker = newTracker(two);
    await tracker.track('api', 7);
    expect(tracker.get('api')).toMatchObject({ pid: 7, state: 'running', memory: { rss: 4096 }, numFDs: null });
    tracker.start();
    await waitFor(() => tracker.stats().ticks >= 2, { what: 'two ticks' });
    await tracker.stop();
    expect(tracker.get('api')?.cpu.usagePercent).toBe(0); // no CPU used between ticks, whatever it claimed
  });

  it('times out a hung pid for that service only, without piling up calls', async () => {
    const two = new TwoMethods();
    two.cpuSeconds.set(57, 0);
    two.cpuSeconds.set(58, 1);
    const tracker = newTracker(two);
    await tracker.track('stuck', 57);
    await tracker.track('fine', 58);
    two.hanging.add(57);
    tracker.start();
    await waitFor(() => tracker.stats().collectionTimeouts >= 2, { what: 'two timeouts' });
    two.cpuSeconds.set(58, 2);
    await waitFor(() => tracker.get('fine')?.cpu.user === 2, { what: 'the healthy service to be sampled' });
    await tracker.stop();
    expect(tracker.get('stuck')?.state).toBe('running');
  });

  it('reads a process gone in either half as an exit, a failed memory half as unknown memory', async () => {
    const two = new TwoMethods();
    two.cpuSeconds.set(9, 1);
    const tracker = newTracker(two);
    await tracker.track('api', 9);
    two.memoryFails = true;
    tracker.start();
    await waitFor(() => (tracker.collectorErrorCounts().get('memory:EACCES') ?? 0) >= 1, { what: 'a counted failure' });
    expect(tracker.get('api')).toMatchObject({ state: 'running', memory: { rss: 0, vms: null } });
    two.cpuSeconds.delete(9);
    await waitFor(() => tracker.get('api')?.state === 'failed', { what: 'the exit' });
    await tracker.stop();
  });
});
