// examples/node-sdk.ts as a user runs it: its port from the environment, its
// metrics and the application's under the names the rules and dashboard query,
// and a clean stop on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/process.js';
import { parseExposition } from '../otel/exposition.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let example: ChildProcess | undefined;

afterEach(() => {
  // Its own process group: the example and the worker it spawned go together, whatever state the test left.
  if (example?.pid !== undefined && example.exitCode === null && example.signalCode === null) {
    try {
      process.kill(-example.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  example = undefined;
});

describe('examples/node-sdk.ts', () => {
  it('serves on the port OTEL_EXPORTER_PROMETHEUS_PORT names, with spec names, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/node-sdk.ts'], {
      cwd: root,
      env: { ...process.env, OTEL_EXPORTER_PROMETHEUS_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    example = child;
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const url = await waitFor(() => /metrics on (http:\/\/\S+);/.exec(stdout)?.[1], { timeoutMs: 30_000, what: 'the example to listen' });
    expect(url).not.toContain(':9464/');

    const samples = await waitFor(
      async () => {
        const found = parseExposition(await (await fetch(url)).text());
        return found.some((s) => s.name === 'process_cpu_time_seconds_total') && found;
      },
      { what: 'the worker in the exposition' },
    );
    expect(samples).toContainEqual(
      expect.objectContaining({ name: 'process_memory_usage_bytes', labels: expect.objectContaining({ service_name: 'worker' }) }),
    );
    expect(samples).toContainEqual(expect.objectContaining({ name: 'http_server_requests_total', value: 1 }));

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    // The worker went with it: nothing is left in the example's process group.
    await waitFor(
      () => {
        try {
          process.kill(-(child.pid as number), 0);
          return false;
        } catch {
          return true;
        }
      },
      { what: "the example's process group to empty" },
    );
  }, 60_000);
});
