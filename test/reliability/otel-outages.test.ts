// The OTLP collector goes away, hangs, comes back: the pipeline keeps working, holds
// bounded memory and sockets, logs a few lines, and delivers again after recovery.
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCollector } from '../../src/collectors/index.js';
import { Tracker } from '../../src/index.js';
import { startTelemetry } from '../../src/otel/index.js';
import { flattenRequest, startOtlpReceiver, type OtlpReceiver } from '../otlp/receiver.js';
import { collectGarbage } from '../support/gc.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';

const FULL = process.env['RELIABILITY_FULL'] === '1';
/** How long each phase lasts; exports run every 100 ms. */
const PHASE_MS = FULL ? 60_000 : 3_000;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await killAll();
});

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('OTLP collector outages', () => {
  it(
    'down, then accepting but mute, then back: no crash, bounded sockets and heap, a few log lines, data after recovery',
    async () => {
      const gc = collectGarbage();
      // A port nothing listens on yet.
      const probe = await startOtlpReceiver();
      const port = probe.port;
      await probe.close();

      const logged: string[] = [];
      const log = (message: string): void => void logged.push(message);
      const telemetry = await startTelemetry({
        env: {},
        exporters: ['otlp'],
        otlp: { url: `http://127.0.0.1:${port}`, exportIntervalMs: 100, exportTimeoutMs: 80 },
        diagLogger: { error: log, warn: log, info: log, debug: log, verbose: log },
      });
      cleanup.push(() => telemetry.shutdown());
      const tracker = new Tracker(defaultCollector(), { meterProvider: telemetry.meterProvider, collectionInterval: 100 });
      cleanup.push(() => tracker.close());
      tracker.start();
      for (let i = 0; i < 20; i++) await tracker.track(`svc-${i}`, spawnIdle().pid);

      await sleep(500);
      gc();
      const fdsAtStart = openFds();
      const heapAtStart = process.memoryUsage().heapUsed;

      // Phase 1: nothing listens.
      const outageStarted = Date.now();
      await sleep(PHASE_MS);
      const fdsDown = openFds();

      // Phase 2: a receiver that takes requests and never answers.
      let mute: OtlpReceiver | undefined = await startOtlpReceiver(port, { respond: false, keep: 1 });
      await sleep(PHASE_MS);
      // gRPC reconnects with a growing backoff after the outage: on a loaded machine its
      // first attempt can come after the phase. The mute phase lasts until a few arrived.
      const receiver = mute;
      await waitFor(() => receiver.calls() > 3, { timeoutMs: 30_000, what: 'exports reaching the mute receiver' }).catch(() => undefined);
      const attemptsWhileMute = mute.calls();
      const fdsMute = openFds();
      await mute.close();
      // eslint-disable-next-line no-useless-assignment -- lets the heap measured below reclaim the receiver
      mute = undefined;

      // Phase 3: a receiver that answers.
      const healthy = await startOtlpReceiver(port, { keep: 5 });
      cleanup.push(() => healthy.close());
      await waitFor(() => healthy.received.some((r) => flattenRequest(r.request).some((p) => p.name === 'process.cpu.time')), {
        timeoutMs: 20_000,
        what: 'data at the receiver after recovery',
      });
      gc();
      const heapGrowth = process.memoryUsage().heapUsed - heapAtStart;

      expect(attemptsWhileMute).toBeGreaterThan(3);
      // Sockets: a failed or hung export does not leave its connection behind.
      expect(fdsDown - fdsAtStart).toBeLessThan(10);
      expect(fdsMute - fdsAtStart).toBeLessThan(10);
      // What a leak would show: something kept per export (a receiver that kept every request grew 4 MiB a second). A few MiB of
      // gRPC buffers and GC timing remain either way (2-11 MiB at CI size, 3 MiB at full size).
      expect(heapGrowth).toBeLessThan(20 * 1024 * 1024);
      // Rate-limited: one line per kind of failure (refused, timed out, ...) per minute, not one per export.
      const minutes = Math.ceil((Date.now() - outageStarted) / 60_000);
      expect(logged.length).toBeGreaterThan(0);
      expect(logged.length).toBeLessThanOrEqual(3 * (minutes + 1));
      for (const line of logged) expect(line).not.toContain('\n');
      // The tracker sampled on throughout.
      expect(tracker.stats().ticks).toBeGreaterThan((2 * PHASE_MS) / 100 / 2);
      console.log(
        `[reliability] phases of ${PHASE_MS} ms: fds ${fdsAtStart} -> down ${fdsDown} -> mute ${fdsMute}; ` +
          `${attemptsWhileMute} hung exports; heap +${(heapGrowth / 1024 / 1024).toFixed(1)} MiB; ${logged.length} log lines`,
      );
    },
    3 * PHASE_MS + 60_000,
  );
});
