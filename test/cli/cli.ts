import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ProcessMetrics } from '../../src/core/metrics.js';
import { waitFor } from '../support/process.js';

/** The built command: these tests run what `npm start` and the bin run. */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Every complete stdout line parsed as JSON (for --json runs). */
  snapshots(): ProcessMetrics[];
  /** Resolves with how it ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
const STREAM_DRAIN_MS = 1000;

/** Spawns any command with its output collected and its end observable; killed by killAllCli(). */
export function startProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  if (child.pid === undefined) throw new Error(`could not spawn ${command}`);
  live.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  // Listened for from the start: 'close' often follows 'exit' in the same turn.
  const closed = once(child, 'close');
  const exited = (async () => {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    live.delete(child);
    // The rest of its output; bounded, since a child it left behind may hold the pipes open.
    await Promise.race([closed, sleep(STREAM_DRAIN_MS)]);
    return { code, signal };
  })();
  return {
    child,
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    snapshots: () =>
      out
        .split('\n')
        .slice(0, -1)
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as ProcessMetrics),
    exited,
  };
}

/** `node dist/cli/main.js ...args`. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  return startProcess(process.execPath, [CLI, ...args], env);
}

/** Runs the command to its end. */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const cli = startCli(args, env);
  const { code, signal } = await cli.exited;
  return { code, signal, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** Waits for a --json snapshot that satisfies `probe`. */
export function waitForSnapshot(
  cli: CliProcess,
  probe: (snapshot: ProcessMetrics) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<ProcessMetrics> {
  return waitFor(() => cli.snapshots().find(probe), {
    timeoutMs,
    what: `${what}; stdout so far:\n${cli.stdout().slice(-2000)}\nstderr:\n${cli.stderr()}`,
  });
}

/**
 * Stops every command still running: SIGTERM first, so that a supervisor takes
 * its children down with it, SIGKILL if it does not go.
 */
export async function killAllCli(): Promise<void> {
  await Promise.all(
    [...live].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

export { freePort } from '../support/net.js';

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function fetchMetrics(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  return response.text();
}
