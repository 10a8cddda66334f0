import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnIdle, waitFor } from '../support/process.js';
import { CLI, fetchMetrics, freePort, killAllCli, startProcess } from './cli.js';

afterEach(async () => {
  await killAllCli();
  await killAll();
});

/** util-linux `script` gives the command a pseudo-terminal: stdout.isTTY is true there. */
function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasScript())('live view on a terminal', () => {
  it('draws the table with every column, a sparkline and the /metrics URL, redrawn in place', async () => {
    const idle = spawnIdle();
    const port = await freePort();
    const command = `stty cols 120 rows 30; exec ${process.execPath} ${CLI} watch -s idle=${idle.pid} -i 200ms --prometheus 127.0.0.1:${port}`;
    const term = startProcess('script', ['-qfec', command, '/dev/null']);

    const row = new RegExp(`idle +${idle.pid} +running +ok +\\d+\\.\\d +[\\d.]+ [KMG]iB +\\d+ +\\d+ +\\S+ +0 +[▁▂▃▄▅▆▇█]{3,}`);
    const screen = await waitFor(() => row.test(term.stdout()) && term.stdout(), {
      what: `a row with a sparkline of three samples; got:\n${term.stdout().slice(-1500)}`,
    });
    expect(screen).toMatch(/SERVICE +PID +STATE +HEALTH +CPU% +RSS +THREADS +FDS +UPTIME +RESTARTS +CPU HISTORY/);
    expect(screen).toContain(`metrics http://127.0.0.1:${port}/metrics`);
    expect(screen).toContain('\x1b[H'); // cursor home: redrawn in place, not scrolled
    expect(screen).toContain('\x1b[K');

    term.child.kill('SIGTERM');
    await term.exited;
    // The command went with its terminal: its port is free again.
    await waitFor(async () => fetchMetrics(port).then(() => false, () => true), { what: 'the endpoint to close' });
  });
});
