import { describe, expect, it } from 'vitest';
import type { ProcessMetrics } from '../../src/domain/metrics.js';
import { CpuHistory } from '../../src/cli/view/history.js';
import { formatPlainLine } from '../../src/cli/view/lines.js';
import { sparkline } from '../../src/cli/view/sparkline.js';
import { renderTable } from '../../src/cli/view/table.js';
import { idleSnapshot } from '../../src/tracker/snapshot.js';

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);

function running(serviceName: string, pid: number, cpuPercent: number, rssBytes: number, extra: Partial<ProcessMetrics> = {}): ProcessMetrics {
  const idle = idleSnapshot({ serviceName, state: 'running', healthy: true, restartCount: 0, lastError: '', healthError: '' }, T0);
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
const down = idleSnapshot({ serviceName: 'worker', state: 'failed', healthy: false, restartCount: 1, lastError: 'exited with code 3', healthError: '' }, T0);

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

  it('drops the sparkline, then cuts lines, when the terminal is narrow', () => {
    const narrow = renderTable({ snapshots: [api], history, width: 60, intervalMs: 1000, metricsUrl: null });
    expect(narrow).not.toContain('CPU HISTORY');
    for (const line of narrow.split('\n')) expect([...line].length).toBeLessThanOrEqual(60);
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
