import { UsageError, quoteArg } from './errors.js';
import { splitCommand } from './split-command.js';

/** When `run` starts its command again after it exits. */
export type RestartPolicy = 'never' | 'on-failure' | 'always';

/**
 * The checks of `run`'s settings, whichever way they arrive (a flag or a
 * config key): one set of rules and limits. `where` names the source in
 * messages, e.g. `--restart` or `--config "p.json": "restart"`.
 */

export function parseRestart(text: string, where: string): RestartPolicy {
  if (text !== 'never' && text !== 'on-failure' && text !== 'always') {
    throw new UsageError(`${quoteArg(where, text)}: expected never, on-failure or always`);
  }
  return text;
}

/** The health command as argv; split as a shell would, with no expansion. */
export function parseHealthCmd(text: string, where: string): string[] {
  const split = splitCommand(text);
  if (!split.ok) throw new UsageError(`${quoteArg(where, text)}: ${split.reason}`);
  return split.argv;
}
