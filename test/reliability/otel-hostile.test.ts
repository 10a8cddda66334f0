// Hostile clients of the metrics endpoint, and names that try to break the exposition.
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Tracker } from '../../src/index.js';
import { ENDPOINT_LIMITS, startTelemetry } from '../../src/otel/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, killAllCli, startCli, waitForSnapshot } from '../cli/cli.js';
import { parseExposition } from '../otel/exposition.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';

const FULL = process.env['RELIABILITY_FULL'] === '1';
const IDLE_CONNECTIONS = FULL ? 2_000 : 500;
const SLOW_CONNECTIONS = FULL ? 200 : 50;

const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await killAllCli();
  await killAll();
});

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  sockets.push(socket);
  await once(socket, 'connect').catch(() => undefined);
  return socket;
}

describe('a flood of idle and slow connections against `watch`', () => {
  it('keeps sampling, answers scrapes and stops on SIGTERM within 2 s', async () => {
    const child = spawnIdle();
    const port = await freePort();
    const cli = startCli(['watch', '-s', `idle=${child.pid}`, '-i', '200ms', '--json', '--prometheus', `127.0.0.1:${port}`]);
    await waitForSnapshot(cli, (s) => s.pid === child.pid, 'the first snapshot');

    for (let i = 0; i < IDLE_CONNECTIONS; i++) await open(port);
    // Slow clients: half a request line, then a byte now and then.
    const slow = await Promise.all(Array.from({ length: SLOW_CONNECTIONS }, () => open(port)));
    for (const socket of slow) socket.write('GET /metr');
    const drip = setInterval(() => slow.forEach((s) => s.writable && s.write('i')), 500);
    try {
      // Past their grace, idle connections make room for a scrape.
      await sleep(ENDPOINT_LIMITS.graceMs + 50);
      const before = cli.snapshots().length;
      const started = Date.now();
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      const text = await response.text();
      const scrapeMs = Date.now() - started;
      expect(response.status).toBe(200);
      expect(text).toContain('service_name="idle"');
      await waitFor(() => cli.snapshots().length >= before + 5, { what: 'five more snapshots during the flood' });
      const alive = sockets.filter((s) => !s.destroyed).length;
      // The endpoint holds at most its cap; the rest were closed, oldest idle first.
      await waitFor(() => sockets.filter((s) => !s.destroyed).length <= ENDPOINT_LIMITS.maxConnections + 1, {
        what: 'the connection cap to hold',
      });

      const stopAt = Date.now();
      cli.child.kill('SIGTERM');
      const exit = await cli.exited;
      const stopMs = Date.now() - stopAt;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(stopMs).toBeLessThan(2_000 + 1_000); // the exit itself, plus the harness's stream drain
      console.log(
        `[reliability] ${IDLE_CONNECTIONS} idle + ${SLOW_CONNECTIONS} slow connections: scrape ${scrapeMs} ms, ` +
          `${alive} client sockets still open right after it, SIGTERM to exit ${stopMs} ms`,
      );
    } finally {
      clearInterval(drip);
    }
  });
});

describe('label safety', () => {
  it('names with quotes, backslashes, braces, equals, commas and unicode come out exactly, in text promtool accepts', async () => {
    const names = ['say "hi"', 'back\\slash', 'brace{x}=y,z', 'ünïcødé-名前-🚀', 'trailing\\'];
    const telemetry = await startTelemetry({ env: {}, diagLogger: null, prometheus: { port: 0 } });
    const tracker = new Tracker(undefined, { meterProvider: telemetry.meterProvider });
    try {
      for (const name of names) await tracker.track(name, spawnIdle().pid);
      const text = await (await fetch(telemetry.prometheusUrl!)).text();
      const seen = new Set(
        parseExposition(text)
          .filter((s) => s.name === 'process_memory_usage_bytes')
          .map((s) => s.labels['service_name']),
      );
      expect([...seen].sort()).toEqual([...names].sort());
      const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      if (promtool.error === undefined) expect([0, 3], promtool.stdout + promtool.stderr).toContain(promtool.status);
    } finally {
      await tracker.close();
      await telemetry.shutdown();
    }
  });

  it('refuses a name that is not well-formed UTF-16 (a lone surrogate) with a typed error', async () => {
    const tracker = new Tracker(undefined, { meterProvider: null });
    try {
      expect(() => tracker.register('bad\uD800name')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(tracker.getAll()).toEqual([]);
    } finally {
      await tracker.close();
    }
  });
});
