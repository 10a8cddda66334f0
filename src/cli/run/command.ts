import type { CommonOptions, RunSpec } from '../options/args.js';
import { openSession, type SessionIO } from '../session/session.js';
import { exitCodeOf } from './exit-status.js';
import { Supervisor } from './supervisor.js';

export interface RunCommand {
  options: CommonOptions;
  spec: RunSpec;
}

/**
 * `procmetrics run -- COMMAND`: binds the exporters (a taken port fails here,
 * before anything is spawned), starts the command, supervises it until it ends
 * for good or a signal arrives. A signal is forwarded to the command's process
 * group; either way the exit code is the command's (128 + signal number when a
 * signal ended it).
 */
export async function run(
  command: RunCommand,
  io: SessionIO,
  stopRequested: Promise<NodeJS.Signals>,
  onSupervisor: (supervisor: Supervisor) => void,
): Promise<number> {
  const session = await openSession(command.options, [command.spec.name], io);
  const supervisor = new Supervisor([command.spec], session.tracker, session.track, session.board, {
    notice: (text) => session.stderr.write(`procmetrics: ${text}\n`),
    ...(session.stderrIsLive ? { output: session.stderr } : {}),
    descendants: command.options.descendants,
  });
  onSupervisor(supervisor);
  try {
    await supervisor.start();
    const ended = await Promise.race([supervisor.finished(), stopRequested.then((signal) => supervisor.stop(signal))]);
    const last = ended[0];
    return last === undefined ? 0 : exitCodeOf(last);
  } finally {
    await supervisor.stop('SIGKILL');
    await session.close();
  }
}
