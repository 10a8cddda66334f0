// What the snapshot stream (GET /events) costs the command that serves it.
//
// 1. CPU: the built `procmetrics watch` of SERVICES `sleep` processes (one per
//    service, -i INTERVAL, plain lines to /dev/null), its own CPU time read from
//    /proc/PID/stat over WINDOW_S seconds, with no stream client and with CLIENTS
//    clients that read everything, alternating, ROUNDS times each. The clients
//    live in this process, so their parsing is not counted; what they received is
//    printed, to show they were served.
// 2. Memory: STALLED clients that never read (raw sockets, paused), each
//    reconnected as soon as the server closes it, for STALL_S seconds; the
//    command's RSS every 5 s, beside the same time with no client.
//
//   npm run bench:stream                      (builds dist/ first)
//   SERVICES=200 CLIENTS=100 ROUNDS=5 WINDOW_S=15 npm run bench:stream
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SERVICES = Number(process.env.SERVICES ?? 200);
const CLIENTS = Number(process.env.CLIENTS ?? 100);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const WINDOW_S = Number(process.env.WINDOW_S ?? 15);
const INTERVAL = process.env.INTERVAL ?? '1s';
const STALLED = Number(process.env.STALLED ?? 10);
const STALL_S = Number(process.env.STALL_S ?? 60);
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const TICKS_PER_S = 100; // USER_HZ on Linux
const SNAPSHOT = Buffer.from('event: snapshot');

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** utime and stime of a process, seconds. */
function cpuTimes(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / TICKS_PER_S, system: Number(fields[12]) / TICKS_PER_S };
}

/** CPU of `pid` while `during` runs, % of one core: user, system, both. */
async function cpuOver(pid, seconds) {
  const before = cpuTimes(pid);
  await sleep(seconds * 1000);
  const after = cpuTimes(pid);
  const user = ((after.user - before.user) / seconds) * 100;
  const system = ((after.system - before.system) / seconds) * 100;
  return { user, system, total: user + system };
}

function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const range = (values) => `${Math.min(...values).toFixed(1)}..${Math.max(...values).toFixed(1)}`;

/** A client that reads the whole stream and counts what it got. */
function reader(url, tally) {
  const controller = new AbortController();
  const done = (async () => {
    const response = await fetch(url, { signal: controller.signal });
    if (response.status !== 200) throw new Error(`stream answered ${response.status}`);
    for await (const bytes of response.body) {
      const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      tally.bytes += chunk.length;
      for (let at = chunk.indexOf(SNAPSHOT); at >= 0; at = chunk.indexOf(SNAPSHOT, at + 1)) tally.events += 1;
    }
  })().catch((error) => {
    if (error.name !== 'AbortError') tally.errors += 1;
  });
  return { close: () => controller.abort(), done };
}

/** A client that sends its request and never reads; reopened when the server closes it. */
function stalled(port, tally) {
  let socket;
  let closed = false;
  const open = () => {
    socket = connect(port, '127.0.0.1', () => {
      socket.pause();
      socket.write('GET /events HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (closed) return;
      tally.closedByServer += 1;
      open();
    });
  };
  open();
  return () => {
    closed = true;
    socket.destroy();
  };
}

const sleepers = Array.from({ length: SERVICES }, () => spawn('sleep', ['100000'], { stdio: 'ignore' }));
const port = await freePort();
const args = ['watch', ...sleepers.flatMap((s, i) => ['-s', `s${i}=${s.pid}`]), '-i', INTERVAL, '--prometheus', `127.0.0.1:${port}`];
const watch = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
const base = `http://127.0.0.1:${port}`;
// Interrupted: the command and the sleepers go too.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    watch.kill('SIGKILL');
    for (const s of sleepers) s.kill('SIGKILL');
    process.exit(130);
  });
}
try {
  for (;;) {
    const text = await fetch(`${base}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    if (text.includes(`service_name="s${SERVICES - 1}"`)) break;
    await sleep(200);
  }
  await sleep(3000); // past the first samples, which read more than the next ones

  console.log(`${SERVICES} services, -i ${INTERVAL}, ${ROUNDS} rounds of ${WINDOW_S} s each way; CPU of the watch process, % of one core`);
  const idle = [];
  const busy = [];
  const show = (cpu) => `${cpu.total.toFixed(1)} % (user ${cpu.user.toFixed(1)}, system ${cpu.system.toFixed(1)})`;
  for (let round = 0; round < ROUNDS; round++) {
    idle.push(await cpuOver(watch.pid, WINDOW_S));

    const tally = { bytes: 0, events: 0, errors: 0 };
    const clients = Array.from({ length: CLIENTS }, () => reader(`${base}/events`, tally));
    await sleep(2000); // every client connected and past its replay
    tally.bytes = 0;
    tally.events = 0;
    busy.push(await cpuOver(watch.pid, WINDOW_S));
    for (const client of clients) client.close();
    await Promise.all(clients.map((client) => client.done));
    console.log(
      `  round ${round + 1}: 0 clients ${show(idle.at(-1))}, ${CLIENTS} clients ${show(busy.at(-1))}` +
        ` (they got ${(tally.events / CLIENTS / WINDOW_S).toFixed(0)} events/s each, ${(tally.bytes / WINDOW_S / 1024 / 1024).toFixed(1)} MiB/s in all, ${tally.errors} errors)`,
    );
    await sleep(1000);
  }
  for (const part of ['total', 'user', 'system']) {
    const a = idle.map((c) => c[part]);
    const b = busy.map((c) => c[part]);
    const increase = ((median(b) - median(a)) / median(a)) * 100;
    console.log(
      `${part}: 0 clients median ${median(a).toFixed(1)} % (${range(a)}), ${CLIENTS} clients median ${median(b).toFixed(1)} % (${range(b)}),` +
        ` increase of the medians ${increase >= 0 ? '+' : ''}${increase.toFixed(1)} %`,
    );
  }

  console.log(`\nRSS of the watch process, MiB, every 5 s for ${STALL_S} s`);
  const sample = async (label) => {
    const values = [];
    for (let t = 0; t <= STALL_S; t += 5) {
      values.push(rssMiB(watch.pid));
      if (t < STALL_S) await sleep(5000);
    }
    console.log(
      `  ${label}: ${values.map((v) => v.toFixed(0)).join(' ')} (min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)})`,
    );
  };
  await sample('no client');
  const tally = { closedByServer: 0 };
  const stops = Array.from({ length: STALLED }, () => stalled(port, tally));
  await sample(`${STALLED} clients that never read`);
  for (const stop of stops) stop();
  console.log(`  the server closed a non-reading client ${tally.closedByServer} times (each was reopened at once)`);
} finally {
  watch.kill('SIGTERM');
  await once(watch, 'exit');
  for (const s of sleepers) s.kill('SIGKILL');
}
