import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** Children started by tests; `killAll()` in an afterEach leaves none behind. */
const live = new Set<ChildProcess>();

/** Spawns a real child process and remembers it for cleanup. */
export function spawnChild(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore', ...options });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Leaders of process groups started by spawnGroup(): killAll() kills each whole group. */
const groups = new Set<number>();

/**
 * Spawns a child leading a process group of its own (a shell with children of
 * its own, say), so that killAll() takes the children too, not just the shell.
 */
export function spawnGroup(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
  const child = spawnChild(command, args, { ...options, detached: true });
  if (child.pid !== undefined) groups.add(child.pid);
  return child;
}

/** A process that does nothing for a long time: the simplest thing to track. */
export function spawnIdle(): ChildProcess & { pid: number } {
  const child = spawnChild('sleep', ['100000']);
  if (child.pid === undefined) throw new Error('could not spawn sleep');
  return child as ChildProcess & { pid: number };
}

/** Runs a Node script as a child: `spawnNode(path, args)`. */
export function spawnNode(script: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
  return spawnChild(process.execPath, [script, ...args], options);
}

/** Kills a child and waits until the kernel has reaped it. */
export async function killAndWait(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

export async function killAll(): Promise<void> {
  // The groups first, while their leaders are unreaped: the group id is then still theirs.
  for (const leader of groups) {
    try {
      process.kill(-leader, 'SIGKILL');
    } catch {
      // ESRCH: the whole group is gone.
    }
  }
  groups.clear();
  await Promise.all([...live].map((child) => killAndWait(child)));
}

/**
 * Polls until `probe` returns something other than undefined/false, or throws
 * after `timeoutMs` with the last value seen. Prefer this to fixed sleeps.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
