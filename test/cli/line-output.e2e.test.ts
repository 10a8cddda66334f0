// Every snapshot reaches stdout: thousands of services a tick, a pipe read as
// fast as it comes, and a reader that stops for a while and comes back.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, fetchMetrics } from './cli.js';
import { freePort } from '../support/net.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';

const SERVICES = 10_000;
let dir = '';
let config = '';

beforeAll(() => {
  // One idle process under ten thousand names: a tick publishes ten thousand snapshots.
  const idle = spawnIdle();
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-lines-'));
  config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ services: Object.fromEntries(Array.from({ length: SERVICES }, (_, i) => [`s${i}`, idle.pid])) }));
});
afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await killAll();
});
const running: ReturnType<typeof spawn>[] = [];

/** `procmetrics watch` of every service with --json to a pipe of ours; lines are counted as they are read. */
async function watchJson(port: number) {
  const child = spawn(process.execPath, [CLI, 'watch', '-c', config, '--json', '-i', '1s', '--prometheus', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const seen = { lines: 0, rest: '', names: new Set<string>(), stderr: '' };
  child.stderr.setEncoding('utf8').on('data', (text: string) => (seen.stderr += text));
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const lines = (seen.rest + text).split('\n');
    seen.rest = lines.pop() ?? '';
    for (const line of lines) {
      seen.lines += 1;
      seen.names.add((JSON.parse(line) as { serviceName: string }).serviceName);
    }
  });
  await waitFor(async () => /^procmetrics_tracker_snapshots_dropped_total \d+$/m.test(await fetchMetrics(port)), {
    what: 'the metrics port',
    timeoutMs: 30_000,
  });
  return { child, seen };
}

async function droppedSnapshots(port: number): Promise<number> {
  return Number(/^procmetrics_tracker_snapshots_dropped_total (\d+)$/m.exec(await fetchMetrics(port))?.[1]);
}

async function ticks(port: number): Promise<number> {
  return Number(/^procmetrics_tracker_ticks_total (\d+)$/m.exec(await fetchMetrics(port))?.[1] ?? 0);
}

describe(`--json of ${SERVICES} services into a pipe`, () => {
  it('loses no snapshot when each tick publishes ten thousand at once', async () => {
    const port = await freePort();
    const { seen } = await watchJson(port);
    const start = await ticks(port);
    await waitFor(async () => (await ticks(port)) >= start + 4 || undefined, { what: 'four more ticks', timeoutMs: 60_000 });
    expect(await droppedSnapshots(port)).toBe(0);
    await waitFor(() => seen.names.size === SERVICES || undefined, {
      what: `a line of each of ${SERVICES} services (${seen.names.size} so far, ${seen.lines} lines)`,
      timeoutMs: 30_000,
    });
    // A reader on a busy machine may be ticks behind: the lines are held for it, not lost.
    await waitFor(() => seen.lines > 3 * SERVICES || undefined, {
      what: 'the lines of three ticks',
      timeoutMs: 60_000,
    });
    expect(await droppedSnapshots(port)).toBe(0);
    expect(seen.stderr).toBe('');
  }, 180_000);

  it('holds the lines back for a reader that stops, and hands them over when it reads again', async () => {
    const port = await freePort();
    const { child, seen } = await watchJson(port);
    await waitFor(() => seen.lines >= SERVICES || undefined, { what: 'a tick of lines', timeoutMs: 60_000 });
    child.stdout.pause();
    const pausedAt = await ticks(port);
    // The pipe fills at once (a tick is megabytes); the tracker keeps sampling meanwhile.
    await waitFor(async () => (await ticks(port)) >= pausedAt + 3 || undefined, { what: 'three ticks while paused', timeoutMs: 60_000 });
    const heldBack = seen.lines;
    child.stdout.resume();
    // Three ticks' lines and more: what was held, then what came since.
    await waitFor(() => seen.lines > heldBack + 3 * SERVICES || undefined, { what: 'the lines held back', timeoutMs: 60_000 });
    expect(await droppedSnapshots(port)).toBe(0);
  }, 120_000);
});
