#!/usr/bin/env node
// First, before anything else runs: SIGUSR1 must never open the inspector.
import './no-inspector.js';
// Then, before the heap grows: V8 tuned to keep it small.
import './heap-flags.js';
import { CONFIG_FILE_MAX_BYTES } from '../core/limits.js';
import { PACKAGE_VERSION } from '../metrics/version.js';
import { buildCommand, parseCommandLine } from './options/args.js';
import { parseConfigFile } from './options/config-file.js';
import { UsageError, isCliError, quoteValue } from './options/errors.js';
import { HELP } from './options/help.js';
import { readRegularFile } from './options/read-regular.js';
import type { Supervisor } from './run/supervisor.js';
import type { SessionIO } from './session/session.js';
import { listenForStop } from './session/signals.js';

async function main(argv: readonly string[], io: SessionIO): Promise<number> {
  const line = parseCommandLine(argv);
  if (line.command === 'help') {
    io.stdout.write(HELP);
    return 0;
  }
  if (line.command === 'version') {
    io.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  const config =
    line.command === 'top' || line.configPath === undefined
      ? undefined
      : parseConfigFile(await readConfig(line.configPath), line.configPath);
  // Everything is validated before anything is bound or spawned.
  const command = buildCommand(line, config, io.env);

  let supervisor: Supervisor | undefined;
  const stop = listenForStop(() => {
    // The shutdown overran its budget (or a second Ctrl-C): kill what is left and go.
    supervisor?.killAll();
    if (process.stdout.isTTY) process.stdout.write(SHOW_CURSOR);
    process.exit(command.command === 'run' ? 1 : 0);
  });
  // A reader that went away (`| head`) ends the command the orderly way, children included.
  onStdoutGone = () => process.kill(process.pid, 'SIGTERM');
  try {
    switch (command.command) {
      // Loaded on demand: --help, --version and bad arguments answer without loading the OTel SDK.
      case 'watch': {
        const { watch } = await import('./watch/command.js');
        return await watch(command, io, stop.requested);
      }
      case 'run': {
        const { run } = await import('./run/command.js');
        return await run(command, io, stop.requested, (s) => (supervisor = s));
      }
      case 'demo': {
        const { demo } = await import('./demo/command.js');
        return await demo(command.options, io, stop.requested, (s) => (supervisor = s));
      }
      case 'top': {
        const { top } = await import('./top/command.js');
        return await top(command, io, stop.requested);
      }
      default:
        return 0;
    }
  } finally {
    stop.dispose();
  }
}

/** A config file is a few hundred bytes; anything past this is not one. */

async function readConfig(path: string): Promise<string> {
  const read = await readRegularFile(path, CONFIG_FILE_MAX_BYTES);
  const where = `--config ${quoteValue(path)}`;
  if (!read.ok) throw new UsageError(`${where}: cannot read (${read.problem})`);
  if (read.sizeBytes > CONFIG_FILE_MAX_BYTES) throw new UsageError(`${where}: larger than 1 MiB, not a config file`);
  return read.head.toString('utf8');
}

const SHOW_CURSOR = '\x1b[?25h';
const io: SessionIO = { stdout: process.stdout, stderr: process.stderr, env: process.env };
/** Before anything runs there is nothing to stop: a closed stdout just ends us. */
let onStdoutGone = (): void => process.exit(0);
// Once: every write after the reader left fails again, and a second stop signal would force the exit.
let stdoutGone = false;
process.stdout.on('error', () => {
  if (stdoutGone) return;
  stdoutGone = true;
  onStdoutGone();
});

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
    // Exporter sockets or a stuck gRPC channel must not keep a finished command alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    if (isCliError(error)) {
      process.stderr.write(`procmetrics: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`procmetrics: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
    setTimeout(() => process.exit(), 200).unref();
  },
);
