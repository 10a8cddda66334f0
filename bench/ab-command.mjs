// Two builds of the command side by side on the same N idle `sleep`s: the
// checkout's dist/ and another (OTHER=/path/to/checkout/dist/cli/main.js,
// e.g. a worktree of an older commit, built). Each runs `watch -c FILE
// --prometheus 127.0.0.1:PORT -i 5s`, one service per process (trees, the
// default); both are scraped alternately every 5 s with gzip, as Prometheus
// would. Printed per build: scrape median, CPU seconds and RSS over the window
// (from /proc), and the longest event-loop block after a warm-up
// (bench/block-probe.mjs, preloaded).
//
//   git worktree add /tmp/old COMMIT && (cd /tmp/old && npm ci && npm run build)
//   OTHER=/tmp/old/dist/cli/main.js SIZES=200,2000 npm run bench:ab
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, median, memoryBytes } from './proc-read.mjs';

const SIZES = (process.env.SIZES ?? '2000').split(',').map(Number);
const WINDOW_S = Number(process.env.WINDOW_S ?? 60);
const OTHER = process.env.OTHER;
const THIS = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const PROBE = fileURLToPath(new URL('./block-probe.mjs', import.meta.url));
if (!OTHER) throw new Error('OTHER=/path/to/other/dist/cli/main.js is needed: the build to compare with');

async function measure(n) {
  const dir = mkdtempSync(join(tmpdir(), 'procmetrics-ab-'));
  const sleepers = Array.from({ length: n }, () => spawn('sleep', ['1000'], { stdio: 'ignore' }));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ services: Object.fromEntries(sleepers.map((s, i) => [`svc-${i}`, s.pid])) }));
  const builds = [
    ['other', OTHER, 19_871],
    ['this', THIS, 19_872],
  ].map(([name, cli, port]) => {
    const child = spawn(
      process.execPath,
      ['--import', PROBE, cli, 'watch', '-c', config, '--prometheus', `127.0.0.1:${port}`, '-i', '5s'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
    return { name, child, port, stderr: () => stderr, scrapes: [] };
  });
  try {
    await sleep(12_000); // every service tracked, the probe's warm-up over
    for (const build of builds) build.cpuAtStart = cpuSeconds(build.child.pid).total;
    const end = Date.now() + WINDOW_S * 1000;
    while (Date.now() < end) {
      for (const build of builds) {
        const started = performance.now();
        const response = await fetch(`http://127.0.0.1:${build.port}/metrics`, { headers: { 'accept-encoding': 'gzip' } });
        await response.arrayBuffer();
        build.scrapes.push(performance.now() - started);
      }
      await sleep(5000);
    }
    console.log(`\n${n} processes, ${WINDOW_S} s window\n`);
    console.log('| build | scrape ms, median | CPU s in the window | RSS at end, MiB | longest event-loop block, ms | p99, ms |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const build of builds) {
      const cpu = cpuSeconds(build.child.pid).total - build.cpuAtStart;
      const rss = memoryBytes(build.child.pid).rss / 2 ** 20;
      build.child.kill('SIGTERM');
      await new Promise((resolve) => build.child.once('exit', resolve));
      const block = /block-probe max_ms=([\d.]+) p99_ms=([\d.]+)/.exec(build.stderr());
      console.log(
        `| ${build.name} | ${median(build.scrapes).toFixed(1)} | ${cpu.toFixed(2)} | ${rss.toFixed(1)} | ${block?.[1] ?? '?'} | ${block?.[2] ?? '?'} |`,
      );
    }
  } finally {
    for (const build of builds) build.child.kill('SIGKILL');
    for (const sleeper of sleepers) sleeper.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`this: ${THIS}\nother: ${OTHER}`);
for (const n of SIZES) await measure(n);
