import { MAX_GROUPS_LIMIT } from '../../core/limits.js';
import { parseWholeNumber } from './run-options.js';

/** A whole number of groups, 1 to MAX_GROUPS_LIMIT. */
export function parseMaxGroups(text: string, where = '--max-groups'): number {
  return parseWholeNumber(text, where, 1, MAX_GROUPS_LIMIT);
}
