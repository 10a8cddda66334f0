// Connections to the metrics endpoint that never finish a request, or stay
// open after one: each is closed on its timeout, not held until the cap.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '../../src/otel/index.js';
import { freePort, killAllCli, startCli, waitForSnapshot } from '../cli/cli.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';

const sockets: Socket[] = [];
const telemetries: Telemetry[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const telemetry of telemetries.splice(0)) await telemetry.shutdown();
  await killAllCli();
  await killAll();
});

interface Client {
  socket: Socket;
  /** What the server sent, as text. */
  received(): string;
  /** ms from connecting to the server closing its side; undefined while open. */
  closedAfterMs(): number | undefined;
}

/**
 * A client that keeps its own side open after the server's FIN (allowHalfOpen),
 * as a hostile or careless one does: only the server can end the connection.
 */
async function client(port: number, send: (socket: Socket) => void = () => undefined): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  sockets.push(socket);
  socket.on('error', () => undefined);
  let text = '';
  let closedAt: number | undefined;
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const end = (): void => void (closedAt ??= performance.now());
  socket.on('end', end).on('close', end);
  await once(socket, 'connect');
  const start = performance.now();
  send(socket);
  return { socket, received: () => text, closedAfterMs: () => (closedAt === undefined ? undefined : closedAt - start) };
}

const KINDS: ReadonlyArray<[string, (socket: Socket) => void]> = [
  ['silent (connects, sends nothing)', () => undefined],
  ['half a request line (GET /metr)', (s) => s.write('GET /metr')],
  ['headers never ended', (s) => s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n')],
];

describe('idle and half-sent connections to the Prometheus endpoint', () => {
  it('are closed on the configured timeouts, and a kept-alive one after its idle timeout', async () => {
    const timeouts = { idleTimeoutMs: 300, headersTimeoutMs: 300, requestTimeoutMs: 600 };
    const telemetry = await startTelemetry({ env: {}, diagLogger: null, exporters: ['prometheus'], prometheus: { port: 0, ...timeouts } });
    telemetries.push(telemetry);
    const port = Number(new URL(telemetry.prometheusUrl ?? '').port);

    const clients = await Promise.all(KINDS.map(([, send]) => client(port, send)));
    // A byte now and then: every inactivity timer is reset, only a deadline stops it.
    const dripping = await client(port, (s) => s.write('GET /metrics HTTP/1.1\r\nX-a: '));
    const drip = setInterval(() => dripping.socket.writable && dripping.socket.write('a'), 50);
    const kept = await client(port, (s) => s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
    try {
      const all = [...clients, dripping, kept];
      await waitFor(() => all.every((c) => c.closedAfterMs() !== undefined), {
        what: 'the server to close every connection',
        // Ten times the timeouts, and still short of Node's own 5 s: options that were ignored fail here.
        timeoutMs: 3_000,
      });
    } finally {
      clearInterval(drip);
    }
    // The kept-alive connection got its answer first.
    expect(kept.received()).toMatch(/^HTTP\/1\.1 200 /);
    const figures: Array<[string, Client | undefined]> = [
      ...KINDS.map(([name], i): [string, Client | undefined] => [name, clients[i]]),
      ['dripping a byte every 50 ms', dripping],
      ['kept alive after a scrape', kept],
    ];
    console.log(
      `[reliability] closed with timeouts idle 300 / headers 300 / request 600 ms: ` +
        figures.map(([name, c]) => `${name} ${Math.round(c?.closedAfterMs() ?? -1)} ms`).join(', '),
    );
  });

  it('`watch` closes a silent and a half-sent connection on its default timeouts (headers 5 s)', async () => {
    const idle = spawnIdle();
    const port = await freePort();
    const cli = startCli(['watch', '-s', `idle=${idle.pid}`, '-i', '500ms', '--json', '--prometheus', `127.0.0.1:${port}`]);
    await waitForSnapshot(cli, (s) => s.pid === idle.pid, 'the first snapshot');
    const silent = await client(port);
    const half = await client(port, (s) => s.write('GET /metr'));
    await waitFor(() => silent.closedAfterMs() !== undefined && half.closedAfterMs() !== undefined, {
      what: 'the command to close both connections',
      timeoutMs: 20_000,
    });
    console.log(
      `[reliability] watch closed a silent connection after ${Math.round(silent.closedAfterMs() ?? -1)} ms, ` +
        `GET /metr after ${Math.round(half.closedAfterMs() ?? -1)} ms`,
    );
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  }, 30_000);
});
