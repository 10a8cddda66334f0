import { fileURLToPath } from 'node:url';
import type { CommonOptions, RunSpec } from '../options/args.js';
import { Supervisor } from '../run/supervisor.js';
import { openSession, type SessionIO } from '../session/session.js';

/** The demo workloads, compiled next to this file; each is a plain Node script. */
function workload(name: string, restart: RunSpec['restart'], args: string[] = [], env: Record<string, string> = {}): RunSpec {
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  return { name, command: process.execPath, args: [...args, script], restart, health: null, env };
}

const DEMO_SERVICES: readonly RunSpec[] = [
  workload('steady-cpu', 'on-failure'),
  // --expose-gc lets the sawtooth hand its memory back the moment it lets go of it, and a
  // fixed malloc mmap threshold makes glibc return freed blocks to the kernel: by default
  // the threshold rises after the first free, and RSS would stay at the peak forever.
  workload('sawtooth-memory', 'on-failure', ['--expose-gc'], { MALLOC_MMAP_THRESHOLD_: String(1024 * 1024) }),
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
  const supervisor = new Supervisor(
    DEMO_SERVICES,
    session.tracker,
    session.track,
    session.board,
    session.stderrIsLive ? { output: session.stderr } : {},
  );
  onSupervisor(supervisor);
  try {
    await supervisor.start();
    await Promise.race([supervisor.finished(), stopRequested]);
    await supervisor.stop('SIGTERM');
  } finally {
    await supervisor.stop('SIGKILL');
    await session.close();
  }
  return 0;
}
