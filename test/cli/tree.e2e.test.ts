import { readFileSync, readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessMetrics } from '../../src/core/metrics.js';
import { waitFor } from '../support/process.js';
import { killAllCli, startCli, waitForSnapshot } from './cli.js';

afterEach(killAllCli);

/** Burns 30 % of a core as CPU time (a busy machine delays the burn rather than shrinking it), like test/workloads/burn.mjs. */
const BURN_30 =
  'const duty = 30, periodMs = 100; (function cycle() { const started = Date.now(), before = process.cpuUsage();' +
  ' for (;;) { const spent = process.cpuUsage(before); if (spent.user + spent.system >= periodMs * 10 * duty) break; }' +
  ' setTimeout(cycle, Math.max(0, periodMs - (Date.now() - started))); })();';
const command = ['sh', '-c', `${JSON.stringify(process.execPath)} -e '${BURN_30}'; true`];
const quiet = ['--json', '--prometheus', 'off', '-i', '500ms'];

/** The children of `pid` now, from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((candidate) => {
      try {
        return readFileSync(`/proc/${candidate}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    });
}

function rssBytes(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
}

describe('run counts what its command starts', () => {
  it("run -- sh -c 'node burn 30 %' reports the service at about 30 %, with the node child's memory", async () => {
    const cli = startCli(['run', ...quiet, '--', ...command]);
    const first = await waitForSnapshot(cli, (s) => s.state === 'running' && s.processCount === 2, 'sh and node running');
    const node = await waitFor(() => childrenOf(first.pid)[0], { what: 'the node child' });
    // Five snapshots after the first, so the child has reached its rhythm: 2.5 s.
    const counted = (): ProcessMetrics[] => cli.snapshots().filter((s) => s.state === 'running' && s.timestamp > first.timestamp);
    await waitFor(() => counted().length >= 6, { timeoutMs: 20_000, what: 'six more snapshots' });
    const window = counted().slice(1);
    const mean = window.reduce((sum, s) => sum + s.cpu.usagePercent, 0) / window.length;
    // Nominal 30 %; within 10 points even when the machine is busy (as the accuracy tests).
    expect(mean).toBeGreaterThan(20);
    expect(mean).toBeLessThan(40);
    const last = window.at(-1) as ProcessMetrics;
    expect(last.pid).toBe(first.pid);
    expect(last.processCount).toBe(2);
    expect(last.memory.rss).toBeGreaterThanOrEqual(rssBytes(node) * 0.9);
    // As root the command has a v2 cgroup of its own, and the service is read from it.
    if (process.getuid?.() === 0) expect(last.cgroup?.path).toMatch(/^\/procmetrics\//);
  });

  it('--single-process: the command alone, without the node child it started', async () => {
    const cli = startCli(['run', ...quiet, '--single-process', '--', ...command]);
    const first = await waitForSnapshot(cli, (s) => s.state === 'running', 'running');
    const node = await waitFor(() => childrenOf(first.pid)[0], { what: 'the node child' });
    const later = await waitForSnapshot(cli, (s) => s.state === 'running' && s.timestamp > first.timestamp + 1500, 'a later snapshot');
    expect(later.processCount).toBe(1);
    expect(later.memory.rss).toBeLessThan(rssBytes(node) / 2);
    expect(later.cpu.usagePercent).toBeLessThan(5);
  });
});
