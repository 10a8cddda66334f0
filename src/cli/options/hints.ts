/** Suggestions for mistakes a person makes at the command line. Pure. */
import { quoteValue } from './errors.js';

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate closest to `word`, if it is close enough to be a typo: at
 * most a third of the word's length away (at least 2), or `word` is the start
 * of it (`--health` for `--health-cmd`). Ties go to the first candidate.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = candidate.startsWith(word) && word.length >= 3 ? 1 : editDistance(word, candidate);
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/**
 * What a TARGET that is not a pid was probably meant to be: a path is a pid
 * file, a word a command line to match.
 */
export function targetHint(text: string): string {
  if (text.includes('/')) return `; a pid file is written ${quoteValue(`pidfile:${text}`)}`;
  if (/^[A-Za-z]/.test(text)) return `; to follow a process by its command line, write ${quoteValue(`match:${text}`)}`;
  return '';
}
