import { afterEach, expect, it } from 'vitest';
import { CollectionTimeoutError } from '../../src/core/errors.js';
import { DEFAULT_CHUNK_SIZE } from '../../src/collectors/index.js';
import type { SampleTarget } from '../../src/core/collector-port.js';
import { closeCollectors, procfsCollector } from '../support/collectors.js';
import { killAll, spawnIdle } from '../support/process.js';
import { describeWhere } from '../support/requires.js';
import { turnsDuring } from '../support/turns.js';

afterEach(closeCollectors);

/** 2,000 targets, all this very process: real /proc reads without 2,000 children. */
const TARGETS: SampleTarget[] = Array.from({ length: 2000 }, () => ({ pid: process.pid }));

describeWhere(process.platform === 'linux' ? undefined : 'needs Linux', 'a sweep of 2,000 targets', () => {
  it('gives the event loop a turn between chunks', async () => {
    // A budget far above any chunk's duration: only the chunk size decides where a sweep yields.
    const collector = procfsCollector({ chunkBudgetMs: 60_000 });
    const { result, turns } = await turnsDuring(() => collector.sample(TARGETS));
    expect(result).toHaveLength(2000);
    expect(result.every((outcome) => outcome.ok)).toBe(true);
    expect(turns).toBeGreaterThanOrEqual(Math.ceil(2000 / DEFAULT_CHUNK_SIZE) - 1);
  });

  it('stops at the next chunk once the signal fires, failing only the targets not reached', async () => {
    const collector = procfsCollector({ chunkSize: 100, chunkBudgetMs: 60_000 });
    const controller = new AbortController();
    // Fires at the sweep's first yield, i.e. after exactly one chunk.
    setImmediate(() => controller.abort(new DOMException('tick budget spent', 'TimeoutError')));
    const outcomes = await collector.sample(TARGETS, controller.signal);
    expect(outcomes.slice(0, 100).every((outcome) => outcome.ok)).toBe(true);
    const rest = outcomes.slice(100);
    expect(rest.every((outcome) => !outcome.ok && outcome.error instanceof CollectionTimeoutError)).toBe(true);
  });

  it('fails the targets not reached with timeouts that name each pid and the time spent, in stretches, without stacks', async () => {
    const collector = procfsCollector({ chunkSize: 100, chunkBudgetMs: 60_000 });
    const controller = new AbortController();
    setImmediate(() => controller.abort(new DOMException('tick budget spent', 'TimeoutError')));
    const targets = Array.from({ length: 20_000 }, (_, i) => ({ pid: i < 100 ? process.pid : 4_000_000 + i }));
    const { result, turns } = await turnsDuring(() => collector.sample(targets, controller.signal));
    const errors = result.slice(100).map((outcome) => (outcome.ok ? undefined : outcome.error));
    expect(errors.every((error) => error instanceof CollectionTimeoutError)).toBe(true);
    const last = errors.at(-1) as CollectionTimeoutError;
    expect(last).toBeInstanceOf(Error);
    expect(last).toMatchObject({ name: 'CollectionTimeoutError', code: 'ETIMEDOUT', pid: 4_019_999 });
    expect(Number.isInteger(last.timeoutMs) && last.timeoutMs >= 0).toBe(true);
    expect(last.message).toBe(`process 4019999: collection timed out after ${last.timeoutMs} ms`);
    // An error of the machine being slow: its stack is its first line, no frames captured.
    expect(last.stack).toBe(`CollectionTimeoutError: ${last.message}`);
    // 19,900 failures are more than one stretch of failEach (2,048): the loop got turns between them.
    expect(turns).toBeGreaterThanOrEqual(1 + Math.floor(19_900 / 2048));
  });

  it('keeps the reason of an abort that is not a timeout', async () => {
    const collector = procfsCollector();
    const reason = new Error('supervisor shutting down');
    const outcomes = await collector.sample(TARGETS.slice(0, 3), AbortSignal.abort(reason));
    expect(outcomes.map((outcome) => (outcome.ok ? undefined : outcome.error))).toEqual([reason, reason, reason]);
  });
});

describeWhere(process.platform === 'linux' ? undefined : 'needs Linux', 'forgetting processes no sweep asks for', () => {
  afterEach(killAll);

  it('closes their fds in chunks, with turns of the event loop between them', async () => {
    const collector = procfsCollector({ chunkSize: 10, chunkBudgetMs: 60_000, forgetAfterSweeps: 1 });
    const targets = Array.from({ length: 50 }, () => ({ pid: spawnIdle().pid }));
    const outcomes = await collector.sample(targets);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    const held = collector.openFdCount;
    expect(held).toBeGreaterThan(0);
    const { turns } = await turnsDuring(() => collector.sample([]));
    expect(collector.openFdCount).toBe(0);
    expect(turns).toBeGreaterThanOrEqual(4);
  });
});
