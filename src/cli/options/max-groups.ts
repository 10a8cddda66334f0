import { MAX_GROUPS_LIMIT } from '../../core/limits.js';
import { UsageError, quoteArg } from './errors.js';

/** A whole number of groups, 1 to MAX_GROUPS_LIMIT. */
export function parseMaxGroups(text: string, where = '--max-groups'): number {
  const value = /^[1-9]\d{0,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value <= MAX_GROUPS_LIMIT)) {
    throw new UsageError(`${quoteArg(where, text)}: must be a whole number from 1 to ${MAX_GROUPS_LIMIT}`);
  }
  return value;
}
