import { describe, expect, it } from 'vitest';
import type { ProcessMetrics } from '../../src/core/metrics.js';
import { CpuHistory } from '../../src/cli/view/history.js';
import { formatPlainLine } from '../../src/cli/view/lines.js';
import { sparkline } from '../../src/cli/view/sparkline.js';
import { LiveOutput, printable } from '../../src/cli/view/output.js';
import { columnWidths, renderTable } from '../../src/cli/view/table.js';
import { screenOf } from './screen.js';
import type { OtlpExportStatus } from '../../src/otel/index.js';
import { idleSnapshot } from '../../src/tracker/snapshot.js';

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);

function running(
  serviceName: string,
  pid: number,
  cpuPercent: number,
  rssBytes: number,
  extra: Partial<ProcessMetrics> = {},
): ProcessMetrics {
  const idle = idleSnapshot(
    {
      serviceName,
      labels: {},
      state: 'running',
      healthy: true,
      restartCount: 0,
      oomKills: 0,
      healthRestarts: 0,
      lastError: '',
      healthError: '',
    },
    T0,
  );
  return {
    ...idle,
    pid,
    cpu: { ...idle.cpu, pid, usagePercent: cpuPercent },
    memory: { ...idle.memory, pid, rss: rssBytes },
    numThreads: 7,
    numFDs: null,
    startTime: T0 - 185_000,
    uptime: 185_000,
    ...extra,
  };
}

const api = running('api', 4242, 25.04, 48 * 1024 * 1024, { restartCount: 2 });
const down = idleSnapshot(
  {
    serviceName: 'worker',
    labels: {},
    state: 'failed',
    healthy: false,
    restartCount: 1,
    oomKills: 0,
    healthRestarts: 0,
    lastError: 'exited with code 3',
    healthError: '',
  },
  T0,
);

describe('sparkline', () => {
  it('maps 0..100 % of a core onto eight blocks, oldest first', () => {
    expect(sparkline([0, 25, 50, 75, 100], 10)).toBe('▁▃▅▆█');
  });

  it('shows the last `width` values', () => {
    expect(sparkline([100, 100, 0, 0], 2)).toBe('▁▁');
    expect(sparkline([1, 2, 3], 0)).toBe('');
  });

  it('stretches only above one core', () => {
    expect(sparkline([0, 100, 200], 3)).toBe('▁▅█');
  });
});

describe('renderTable', () => {
  const history = (name: string): number[] => (name === 'api' ? [0, 25, 50, 100] : []);
  const text = renderTable({
    snapshots: [api, down],
    history,
    width: 120,
    intervalMs: 5000,
    metricsUrl: 'http://127.0.0.1:9464/metrics',
    footer: 'Ctrl-C to stop',
  });
  const lines = text.split('\n');

  it('has a header with the interval and the /metrics URL', () => {
    expect(lines[0]).toBe('procmetrics  2 services  every 5s  metrics http://127.0.0.1:9464/metrics');
  });

  it('has one row per service with every column and the sparkline', () => {
    expect(lines[2]).toMatch(/^SERVICE +PID +STATE +HEALTH +CPU% +RSS +THREADS +FDS +UPTIME +RESTARTS +CPU HISTORY$/);
    expect(lines[3]).toMatch(/^api +4242 +running +ok +25\.0 +48\.0 MiB +7 +\? +3m05s +2 +▁▃▅█$/);
    expect(lines[4]).toMatch(/^worker +- +failed +- +- +- +- +- +- +1 +$/);
  });

  it('lists last errors and the footer', () => {
    expect(lines).toContain('worker: exited with code 3');
    expect(lines.at(-1)).toBe('Ctrl-C to stop');
  });

  it('aligns columns: every row as long as the header row', () => {
    const narrow = renderTable({ snapshots: [api, down], history, width: 200, intervalMs: 1000, metricsUrl: null });
    const [, , header = '', first = ''] = narrow.split('\n');
    expect(first.indexOf('running')).toBe(header.indexOf('STATE'));
    expect(narrow.split('\n')[0]).toContain('metrics endpoint off');
  });

  it('drops the sparkline, then whole columns from the right, when the terminal is narrow', () => {
    const narrow = renderTable({ snapshots: [api], history, width: 60, intervalMs: 1000, metricsUrl: null });
    expect(narrow).not.toContain('CPU HISTORY');
    for (const line of narrow.split('\n')) expect([...line].length).toBeLessThanOrEqual(60);
    const [, , header = '', row = ''] = narrow.split('\n');
    expect(header).toMatch(/^SERVICE +PID +STATE +HEALTH +CPU% +RSS +THREADS +FDS$/);
    expect(row).toMatch(/^api +4242 +running +ok +25\.0 +48\.0 MiB +7 +\?$/);
    const tiny = renderTable({ snapshots: [api], history, width: 20, intervalMs: 1000, metricsUrl: null }).split('\n');
    expect(tiny[2]).toBe('SERVICE   PID');
    expect(tiny[3]).toBe('api      4242');
  });

  it('ends text lines that do not fit with an ellipsis', () => {
    const narrow = renderTable({ snapshots: [down], history, width: 20, intervalMs: 1000, metricsUrl: null });
    expect(narrow.split('\n')).toContain('worker: exited with…');
  });

  it('keeps column widths from earlier frames: values that shrink do not move the columns', () => {
    const wide = running('api', 4242, 25, 148 * 1024 * 1024 * 1024, { restartCount: 12345 });
    const widths = columnWidths([wide]);
    expect(columnWidths([api], widths)).toEqual(widths);
    expect(columnWidths([api])).not.toEqual(widths);
    const before = renderTable({ snapshots: [wide], history, width: 200, intervalMs: 1000, metricsUrl: null }).split('\n');
    const after = renderTable({ snapshots: [api], history, width: 200, intervalMs: 1000, metricsUrl: null, minWidths: widths }).split('\n');
    expect(after[2]).toBe(before[2]);
    expect(after[3]?.indexOf('7')).toBe(before[3]?.indexOf('7'));
  });

  it('shows where OTLP goes and whether pushing works', () => {
    const base = { destination: 'grpc http://c:4317', lastError: null, lastErrorAt: null, lastSuccessAt: null, failures: 0 };
    const header = (otlp: OtlpExportStatus): string[] =>
      renderTable({ snapshots: [api], history, width: 200, intervalMs: 1000, metricsUrl: null, otlp }).split('\n');
    expect(header(base)[0]).toBe('procmetrics  1 service  every 1s  metrics endpoint off  otlp grpc http://c:4317 waiting');
    expect(header({ ...base, lastSuccessAt: T0 })[0]).toMatch(/otlp grpc http:\/\/c:4317 ok$/);
    const failing = header({
      ...base,
      lastSuccessAt: T0,
      lastErrorAt: T0 + 1000,
      failures: 3,
      lastError: '14 UNAVAILABLE:\nNo connection',
    });
    expect(failing[0]).toMatch(/otlp grpc http:\/\/c:4317 failing$/);
    expect(failing[1]).toMatch(/^otlp: 3 pushes failed, the last at \d\d:\d\d:\d\d: 14 UNAVAILABLE: No connection$/);
    expect(failing[2]).toBe('');
    expect(header({ ...base, lastSuccessAt: T0 + 2000, lastErrorAt: T0 + 1000, failures: 3, lastError: 'x' })[1]).toBe('');
  });

  it('contains no terminal control codes', () => {
    expect(text).not.toContain('\x1b');
  });
});

describe('plain lines', () => {
  it('is one grep-friendly line per snapshot', () => {
    expect(formatPlainLine(api)).toBe(
      '2024-05-01T10:00:00.000Z api pid=4242 state=running health=ok cpu=25.0% rss=48.0MiB threads=7 fds=? uptime=3m05s restarts=2',
    );
    expect(formatPlainLine(down)).toBe(
      '2024-05-01T10:00:00.000Z worker pid=- state=failed health=- cpu=- rss=- threads=- fds=- uptime=- restarts=1 error="exited with code 3"',
    );
  });

  it('says why a health check failed', () => {
    const sick = { ...api, healthy: false, healthError: 'timed out after 1s' };
    expect(formatPlainLine(sick)).toMatch(/ health=unhealthy .* health_error="timed out after 1s"$/);
  });
});

describe('CPU history', () => {
  it('records each sample once, and nothing for a service without a process', () => {
    const history = new CpuHistory(3);
    history.record(api);
    history.record({ ...api, state: 'stopping' }); // same sample, new status: not a new reading
    history.record(down);
    for (const [i, percent] of [10, 20, 30].entries()) {
      history.record({ ...api, cpu: { ...api.cpu, usagePercent: percent, timestamp: T0 + 1000 * (i + 1) } });
    }
    expect(history.values('api')).toEqual([10, 20, 30]);
    expect(history.values('worker')).toEqual([]);
  });
});

describe('LiveOutput', () => {
  function live(current: () => ProcessMetrics[]) {
    let written = '';
    const output = new LiveOutput(
      { write: (text: string) => (written += text), columns: 120 },
      {
        json: false,
        tty: true,
        intervalMs: 1000,
        metricsUrl: null,
        current,
      },
    );
    return { output, screen: () => screenOf(written) };
  }

  it('keeps each column where it was when values shrink, and prints stderr text above the table', () => {
    let now = [running('api', 4242, 25, 148 * 1024 * 1024 * 1024, { restartCount: 12345 })];
    const { output, screen } = live(() => now);
    output.writeAbove('first\n');
    const wideHeader = screen().find((line) => line.startsWith('SERVICE'));
    now = [api];
    output.writeAbove('second, in two ');
    output.writeAbove('pieces\n\x1b[2Jno clearing\n');
    const lines = screen();
    expect(lines.find((line) => line.startsWith('SERVICE'))).toBe(wideHeader);
    expect(lines.slice(0, 3)).toEqual(['first', 'second, in two pieces', 'no clearing']);
    expect(lines[3]).toMatch(/^procmetrics {2}1 service/);
    expect(lines.filter((line) => line.startsWith('SERVICE'))).toHaveLength(1);
    output.close(now);
  });

  it('printable keeps colours and drops what moves the cursor', () => {
    expect(printable('\x1b[31mred\x1b[0m')).toBe('\x1b[31mred\x1b[0m');
    expect(printable('a\x1b[2Kb\x1b[1;1Hc\rd\x07')).toBe('abcd');
  });
});
