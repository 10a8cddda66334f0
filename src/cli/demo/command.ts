import { fileURLToPath } from 'node:url';
import type { CommonOptions, RunSpec } from '../args.js';
import { Supervisor } from '../run/supervisor.js';
import { openSession, type SessionIO } from '../session.js';

/** The demo workloads, compiled next to this file; each is a plain Node script. */
function workload(name: string, restart: RunSpec['restart'], args: string[] = []): RunSpec {
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  return { name, command: process.execPath, args: [...args, script], restart, health: null };
}

export const DEMO_SERVICES: readonly RunSpec[] = [
  workload('steady-cpu', 'on-failure'),
  // --expose-gc lets the sawtooth hand its memory back the moment it lets go of it.
  workload('sawtooth-memory', 'on-failure', ['--expose-gc']),
  workload('crashy', 'always'),
];

/**
 * `procmetrics demo`: three workloads under supervision, the live view and the
 * /metrics endpoint, until Ctrl-C; exit 0 with every child gone.
 */
export async function demo(
  options: CommonOptions,
  io: SessionIO,
  stopRequested: Promise<NodeJS.Signals>,
  onSupervisor: (supervisor: Supervisor) => void,
): Promise<number> {
  const session = await openSession(
    options,
    DEMO_SERVICES.map((spec) => spec.name),
    io,
  );
  const supervisor = new Supervisor(DEMO_SERVICES, session.tracker, session.track, session.board);
  onSupervisor(supervisor);
  try {
    supervisor.start();
    await Promise.race([supervisor.finished(), stopRequested]);
    await supervisor.stop('SIGTERM');
  } finally {
    await supervisor.stop('SIGKILL');
    await session.close();
  }
  return 0;
}
