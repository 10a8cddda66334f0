// Runs every example in examples/*.ts as a user would (tsx), with its port
// from the environment: an example that no longer runs, serves nothing, or
// leaves a process behind fails here.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchMetrics, freePort, isRunning, killAllCli, startProcess, type CliProcess } from '../cli/cli.js';
import { waitFor } from '../support/process.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/** How each example shows it works; one that serves metrics takes its port from OTEL_EXPORTER_PROMETHEUS_PORT. */
type Expectation = { serves: true } | { serves: false; prints: RegExp };
const EXPECTED: Record<string, Expectation> = {
  'supervisor.ts': { serves: true },
  'node-sdk.ts': { serves: true },
  'track-child.ts': { serves: false, prints: /^busy-child pid=\d+ state=running cpu=/m },
};

/** A tracked service's CPU series, whatever the exporter's naming (with or without the unit suffix). */
const SERVICE_SERIES = /^process_cpu_time\w*\{[^}]*service_name="[^"]+"/m;

/** Every live descendant of `root`, with its start time (field 22 of stat) so a reused pid is not mistaken for it. */
function descendants(root: number): Map<number, string> {
  const parents = new Map<number, number>();
  const starts = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
      starts.set(Number(entry), fields[19] ?? '');
    } catch {
      // gone meanwhile
    }
  }
  const found = new Map<number, string>();
  for (const pid of parents.keys()) {
    for (let at = parents.get(pid); at !== undefined && at > 1; at = parents.get(at)) {
      if (at === root) {
        found.set(pid, starts.get(pid) ?? '');
        break;
      }
    }
  }
  return found;
}

function startOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let seen = new Map<number, string>();
afterEach(async () => {
  await killAllCli();
  // Never leave what an example started, even when the example failed to.
  for (const [pid, start] of seen) if (startOf(pid) === start) process.kill(pid, 'SIGKILL');
  seen = new Map();
});

describe('examples/*.ts', () => {
  const files = readdirSync(EXAMPLES).filter((name) => name.endsWith('.ts'));

  it('are all listed here, with what each shows', () => {
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(files)(
    '%s runs, shows what it is for, stops on Ctrl-C (or by itself) and leaves no process behind',
    async (file) => {
      const expected = EXPECTED[file];
      if (expected === undefined) throw new Error(`${file}: not listed in EXPECTED`);
      const port = await freePort();
      const example: CliProcess = startProcess(process.execPath, ['--import', 'tsx', `${EXAMPLES}${file}`], {
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
        OTEL_METRICS_EXPORTER: '',
        OTEL_EXPORTER_OTLP_ENDPOINT: '',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: '',
      });
      const track = (): void => {
        for (const [pid, start] of descendants(example.pid)) seen.set(pid, start);
      };
      const what = (goal: string) => `${file}: ${goal}; stdout: ${example.stdout().slice(-1500)}\nstderr: ${example.stderr().slice(-1500)}`;
      if (expected.serves) {
        await waitFor(
          async () => {
            track();
            return SERVICE_SERIES.test(await fetchMetrics(port));
          },
          { what: what(`a service's CPU series on port ${port}`), timeoutMs: 30_000, intervalMs: 250 },
        );
        track();
        example.child.kill('SIGINT');
      } else {
        await waitFor(
          () => {
            track();
            return expected.prints.test(example.stdout());
          },
          { what: what(`output matching ${String(expected.prints)}`), timeoutMs: 30_000, intervalMs: 100 },
        );
      }
      await waitFor(() => example.child.exitCode !== null || example.child.signalCode !== null, {
        what: what('its exit'),
        timeoutMs: 15_000,
      });
      const ended = await example.exited;
      expect(ended, what('exit 0')).toEqual({ code: 0, signal: null });
      expect(example.stderr()).not.toMatch(/\n\s+at /);
      const left = [...seen].filter(([pid, start]) => isRunning(pid) && startOf(pid) === start).map(([pid]) => pid);
      expect(left, `${file}: processes left behind`).toEqual([]);
    },
    60_000,
  );
});
