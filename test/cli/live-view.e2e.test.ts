import { afterEach, expect, it } from 'vitest';
import { startOtlpReceiver } from '../otlp/receiver.js';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { describeWhere, missingScript } from '../support/requires.js';
import { CLI, fetchMetrics, freePort, killAllCli, startProcess } from './cli.js';
import { screenOf } from './screen.js';

afterEach(async () => {
  await killAllCli();
  await killAll();
});

/** The command on a terminal of `columns` columns; `args` are shell-quoted here. */
function onTerminal(columns: number, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const quoted = [process.execPath, CLI, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  return startProcess('script', ['-qfec', `stty cols ${columns} rows 40; exec ${quoted}`, '/dev/null'], env);
}

describeWhere(missingScript(), 'live view on a terminal', () => {
  it('draws the table with every column, a sparkline and the /metrics URL, redrawn in place', async () => {
    const idle = spawnIdle();
    const port = await freePort();
    const term = onTerminal(120, ['watch', '-s', `idle=${idle.pid}`, '-i', '200ms', '--prometheus', `127.0.0.1:${port}`]);

    const row = new RegExp(`idle +${idle.pid} +running +ok +\\d+\\.\\d +[\\d.]+ [KMG]iB +\\d+ +\\d+ +\\S+ +0 +[▁▂▃▄▅▆▇█]{3,}`);
    const screen = await waitFor(() => row.test(term.stdout()) && term.stdout(), {
      what: `a row with a sparkline of three samples; got:\n${term.stdout().slice(-1500)}`,
    });
    expect(screen).toMatch(/SERVICE +PID +STATE +HEALTH +CPU% +RSS +THREADS +FDS +UPTIME +RESTARTS +CPU HISTORY/);
    expect(screen).toContain(`metrics http://127.0.0.1:${port}/metrics`);
    expect(screen).toMatch(/\x1b\[\d+A/); // cursor up over the last frame: redrawn in place, not scrolled
    expect(screen).toContain('\x1b[K');
    // However many frames were drawn, the terminal shows one table.
    expect(screenOf(screen).filter((line) => line.startsWith('SERVICE'))).toHaveLength(1);

    term.child.kill('SIGTERM');
    await term.exited;
    // The command went with its terminal: its port is free again.
    await waitFor(
      async () =>
        fetchMetrics(port).then(
          () => false,
          () => true,
        ),
      { what: 'the endpoint to close' },
    );
  });

  it("keeps run's output above the table instead of drawing over it", async () => {
    const script =
      'let i = 0; const t = setInterval(() => { console.log(`said ${i}`); console.error(`warned ${i}`); if (++i === 3) clearInterval(t); }, 150)';
    const term = onTerminal(100, [
      'run',
      '-n',
      'talker',
      '-i',
      '100ms',
      '--prometheus',
      'off',
      '--',
      process.execPath,
      '-e',
      `${script}; setInterval(() => {}, 1000)`,
    ]);
    await waitFor(() => term.stdout().includes('warned 2') && term.stdout(), {
      what: `the third pair of lines; got:\n${term.stdout().slice(-1500)}`,
    });
    // One more frame after the last line.
    const seen = term.stdout().length;
    await waitFor(() => term.stdout().length > seen + 200, { what: 'another frame' });
    const lines = screenOf(term.stdout());
    const table = lines.findIndex((line) => line.startsWith('SERVICE'));
    for (const said of ['said 0', 'warned 0', 'said 1', 'warned 1', 'said 2', 'warned 2']) {
      expect(
        lines.filter((line) => line === said),
        said,
      ).toHaveLength(1);
      expect(lines.indexOf(said), said).toBeLessThan(table);
    }
    expect(lines[table + 1]).toMatch(/^talker +\d+ +running/);
  });

  it('on a narrow terminal leaves out whole columns from the right; no title or cell is cut', async () => {
    const idle = spawnIdle();
    const term = onTerminal(50, ['watch', '-s', `idle=${idle.pid}`, '-i', '200ms', '--prometheus', 'off']);
    await waitFor(() => /idle +\d+ +running/.test(term.stdout()), { what: 'a row' });
    const lines = screenOf(term.stdout());
    const header = lines.find((line) => line.startsWith('SERVICE')) ?? '';
    const row = lines.find((line) => line.startsWith('idle')) ?? '';
    const all = ['SERVICE', 'PID', 'STATE', 'HEALTH', 'CPU%', 'RSS', 'THREADS', 'FDS', 'UPTIME', 'RESTARTS'];
    const titles = header.split(/ +/);
    // Whole titles, the first ones in order; the rest left out.
    expect(titles).toEqual(all.slice(0, titles.length));
    expect(titles.length).toBeGreaterThanOrEqual(5);
    expect(titles.length).toBeLessThan(all.length);
    expect(header).not.toContain('CPU HISTORY');
    // The last column shown is right-aligned: its cell ends where its title does, uncut.
    expect(row.startsWith(`idle  `)).toBe(true);
    expect(row.length).toBe(header.length);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(50);
  });

  it('shows where OTLP goes and its last export error beside the /metrics URL, and OTel diagnostics above the table', async () => {
    // A port nothing listens on: every push fails.
    const probe = await startOtlpReceiver();
    const url = probe.url;
    await probe.close();
    const idle = spawnIdle();
    const term = onTerminal(160, ['watch', '-s', `idle=${idle.pid}`, '-i', '200ms', '--prometheus', 'off', '--otlp', url], {
      OTEL_METRIC_EXPORT_INTERVAL: '300',
      OTEL_METRIC_EXPORT_TIMEOUT: '300',
    });
    await waitFor(() => term.stdout().includes('pushes failed') && term.stdout(), {
      what: `a failed push in the view; got:\n${term.stdout().slice(-1500)}`,
    });
    const lines = screenOf(term.stdout());
    const header = lines.findIndex((line) => line.startsWith('procmetrics  1 service'));
    expect(lines[header]).toContain(`metrics endpoint off  otlp grpc ${url} failing`);
    expect(lines[header + 1]).toMatch(/^otlp: \d+ pushes failed, the last at \d\d:\d\d:\d\d: .*(ECONNREFUSED|UNAVAILABLE|No connection)/);
    const diag = lines.findIndex((line) => line.startsWith('procmetrics: otel: '));
    expect(diag).toBeGreaterThanOrEqual(0);
    expect(diag).toBeLessThan(header);
  });
});
