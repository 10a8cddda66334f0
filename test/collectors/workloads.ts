import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../support/process.js';

/** A workload script from test/workloads, running as a child with an IPC channel. */
export type Workload = ChildProcess & { pid: number };

export function workloadPath(name: string): string {
  return fileURLToPath(new URL(`../workloads/${name}`, import.meta.url));
}

/** Starts test/workloads/<name> and waits for its 'ready' message. */
export async function startWorkload(name: string, args: readonly string[]): Promise<Workload> {
  const child = spawnNode(workloadPath(name), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [message] = (await once(child, 'message')) as [unknown];
  if (message !== 'ready' || child.pid === undefined) throw new Error(`${name} did not start: ${String(message)}`);
  return child as Workload;
}

/** Sends a request to a workload and resolves with its next message. */
export async function ask<T>(child: ChildProcess, request: string): Promise<T> {
  const reply = once(child, 'message') as Promise<[T]>;
  child.send(request);
  const [message] = await reply;
  return message;
}
