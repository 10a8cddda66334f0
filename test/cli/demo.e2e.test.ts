import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/process.js';
import { fetchMetrics, freePort, isRunning, killAllCli, startCli } from './cli.js';

afterEach(killAllCli);

describe('procmetrics demo', () => {
  it('supervises three workloads, serves /metrics, and SIGTERM leaves no child behind (exit 0)', async () => {
    const port = await freePort();
    const cli = startCli(['demo', '--json', '-i', '300ms', '--prometheus', `127.0.0.1:${port}`]);
    const names = ['steady-cpu', 'sawtooth-memory', 'crashy'];
    const pids = await waitFor(
      () => {
        const latest = new Map(cli.snapshots().map((s) => [s.serviceName, s]));
        const running = names.map((name) => latest.get(name)).filter((s) => s?.state === 'running' && s.pid > 0);
        return running.length === names.length && running.map((s) => s?.pid ?? 0);
      },
      { what: `three running workloads; stdout: ${cli.stdout().slice(-500)}`, timeoutMs: 20_000 },
    );
    const metrics = await fetchMetrics(port);
    for (const name of names) expect(metrics).toContain(`service_name="${name}"`);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    // Our own shutdown is no error: each workload ends stopped, its lastError empty (crashy's may hold its last crash).
    const last = new Map(cli.snapshots().map((s) => [s.serviceName, s]));
    for (const name of ['steady-cpu', 'sawtooth-memory']) expect(last.get(name), name).toMatchObject({ state: 'stopped', lastError: '' });
    expect(cli.snapshots().filter((s) => /SIGTERM|no process left/.test(s.lastError))).toEqual([]);
  });
});
