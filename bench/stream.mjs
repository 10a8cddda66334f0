// What the snapshot stream (GET /events) costs the command that serves it.
//
// 1. CPU: two twin `procmetrics watch` commands (the built CLI) of the same
//    SERVICES `sleep` processes (one per service, -i INTERVAL, plain lines to
//    /dev/null) run side by side; in each round of WINDOW_S seconds one of them
//    serves CLIENTS clients that read everything and the other none, taking turns
//    round by round, ROUNDS rounds. Each one's CPU time is read from
//    /proc/PID/stat over the same window, so the load of a shared machine weighs
//    on both alike. The clients live in this process, so their parsing is not
//    counted; what they received is printed, to show they were served.
// 2. Memory: STALLED clients that never read (raw sockets, paused), each
//    reconnected as soon as the server closes it, for STALL_S seconds; the
//    command's RSS every 5 s, beside the same time with no client.
//
// The clients ask for gzip, as browsers and fetch do; ENCODING=identity makes
// them ask for the plain stream. The stream hands samples out every 2 s
// (flushIntervalMs), so a window of WINDOW_S seconds holds WINDOW_S / 2 of them,
// give or take one: windows of 10 s or more keep that within a fifth.
//
//   npm run bench:stream                      (builds dist/ first)
//   SERVICES=200 CLIENTS=100 ROUNDS=8 WINDOW_S=15 npm run bench:stream
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SERVICES = Number(process.env.SERVICES ?? 200);
const CLIENTS = Number(process.env.CLIENTS ?? 100);
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const WINDOW_S = Number(process.env.WINDOW_S ?? 15);
const INTERVAL = process.env.INTERVAL ?? '1s';
const STALLED = Number(process.env.STALLED ?? 10);
const STALL_S = Number(process.env.STALL_S ?? 60);
const ENCODING = process.env.ENCODING ?? 'gzip';
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

/** Bytes the process has written with write calls, sockets included (wchar of /proc/PID/io). */
function bytesWritten(pid) {
  return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);
}

/** CPU of each of `pids` over the same `seconds`, % of one core: user, system, both; and what each wrote, MiB/s. */
async function cpuOver(pids, seconds) {
  const before = pids.map((pid) => ({ cpu: cpuTimes(pid), wrote: bytesWritten(pid) }));
  await sleep(seconds * 1000);
  return pids.map((pid, i) => {
    const after = cpuTimes(pid);
    const user = ((after.user - before[i].cpu.user) / seconds) * 100;
    const system = ((after.system - before[i].cpu.system) / seconds) * 100;
    const wroteMiBps = (bytesWritten(pid) - before[i].wrote) / seconds / 1024 / 1024;
    return { user, system, total: user + system, wroteMiBps };
  });
}

/** Processes on the host: the tracker walks /proc for descendants each tick, so its own cost follows this. */
const hostProcesses = () => readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;

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
    const response = await fetch(url, { signal: controller.signal, headers: { 'accept-encoding': ENCODING } });
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
const twins = [];
for (let i = 0; i < 2; i++) {
  const port = await freePort();
  const args = ['watch', ...sleepers.flatMap((s, j) => ['-s', `s${j}=${s.pid}`]), '-i', INTERVAL, '--prometheus', `127.0.0.1:${port}`];
  twins.push({
    port,
    base: `http://127.0.0.1:${port}`,
    child: spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'] }),
  });
}
// Interrupted: the commands and the sleepers go too.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const twin of twins) twin.child.kill('SIGKILL');
    for (const s of sleepers) s.kill('SIGKILL');
    process.exit(130);
  });
}
try {
  for (const twin of twins) {
    for (;;) {
      const text = await fetch(`${twin.base}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      if (text.includes(`service_name="s${SERVICES - 1}"`)) break;
      await sleep(200);
    }
  }
  await sleep(3000); // past the first samples, which read more than the next ones

  console.log(
    `${SERVICES} services, -i ${INTERVAL}, clients asking for ${ENCODING}, ${ROUNDS} rounds of ${WINDOW_S} s;` +
      ` CPU of each twin watch process, % of one core`,
  );
  const idle = [];
  const busy = [];
  const show = (cpu) => `${cpu.total.toFixed(1)} % (user ${cpu.user.toFixed(1)}, system ${cpu.system.toFixed(1)})`;
  for (let round = 0; round < ROUNDS; round++) {
    const served = round % 2;
    const tally = { bytes: 0, events: 0, errors: 0 };
    const clients = Array.from({ length: CLIENTS }, () => reader(`${twins[served].base}/events`, tally));
    await sleep(2000); // every client connected and past its replay
    tally.bytes = 0;
    tally.events = 0;
    const cpu = await cpuOver(
      twins.map((twin) => twin.child.pid),
      WINDOW_S,
    );
    busy.push(cpu[served]);
    idle.push(cpu[1 - served]);
    for (const client of clients) client.close();
    await Promise.all(clients.map((client) => client.done));
    console.log(
      `  round ${round + 1}: twin ${served + 1} with ${CLIENTS} clients ${show(busy.at(-1))}, twin ${2 - served} with none ${show(idle.at(-1))}` +
        ` (they got ${(tally.events / CLIENTS / WINDOW_S).toFixed(0)} events/s each, ${(tally.bytes / WINDOW_S / 1024 / 1024).toFixed(1)} MiB/s in all` +
        ` once decompressed, ${tally.errors} errors; the served twin wrote ${busy.at(-1).wroteMiBps.toFixed(1)} MiB/s;` +
        ` ${hostProcesses()} processes on the host)`,
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
  const ratios = busy.map((b, i) => (b.total / idle[i].total - 1) * 100);
  console.log(
    `increase per round (served twin against the other in the same window): median ${median(ratios).toFixed(1)} % (${range(ratios)})`,
  );
  // The same in CPU time: % of a core x 10 = ms of CPU per second.
  const extraMs = busy.map((b, i) => (b.total - idle[i].total) * 10);
  console.log(`extra CPU per round: median ${median(extraMs).toFixed(1)} ms per second (${range(extraMs)})`);

  const watch = twins[0].child;
  const port = twins[0].port;
  console.log(`\nRSS of twin 1, MiB, every 5 s for ${STALL_S} s`);
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
  for (const twin of twins) twin.child.kill('SIGTERM');
  await Promise.all(twins.map((twin) => once(twin.child, 'exit')));
  for (const s of sleepers) s.kill('SIGKILL');
}
