import { validateLabels } from '../../core/validate.js';
import { RESERVED_LABEL_NAMES } from '../../metrics/prometheus-names.js';
import { UsageError, quoteArg } from './errors.js';

/** `--label KEY=VALUE`, repeated: the labels of every service of the command. */
export function parseLabelArgs(raws: readonly string[]): Readonly<Record<string, string>> {
  const labels: Record<string, string> = {};
  for (const raw of raws) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new UsageError(`${quoteArg('--label', raw)}: expected KEY=VALUE, e.g. --label team=payments`);
    labels[raw.slice(0, eq)] = raw.slice(eq + 1);
  }
  return checkLabels(labels, '--label');
}

/** The library's checks of service labels, as a usage error naming where they came from. */
export function checkLabels(value: unknown, where: string): Readonly<Record<string, string>> {
  try {
    return validateLabels(value, where, RESERVED_LABEL_NAMES);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
