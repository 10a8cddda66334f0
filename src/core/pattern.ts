import { MAX_PATTERN_LENGTH, MAX_PATTERN_REPEAT } from './limits.js';
import { setFlagsFromString } from 'node:v8';

// The `l` (linear) flag exists only behind this V8 flag. It is set when this
// module loads, which is before any pattern is compiled.
setFlagsFromString('--enable-experimental-regexp-engine');

/**
 * Compiles a `match:` pattern for V8's linear-time engine: matching costs time
 * proportional to the pattern times the text, whatever either holds, so no
 * command line another user chooses can stall the scan. What that engine cannot
 * run (backreferences, lookaround, counted repeats over 16) is refused here rather
 * than run by the backtracking engine.
 * Returns the pattern, or why it cannot be used.
 */
export function compilePattern(source: string): RegExp | { problem: string } {
  if (source.length > MAX_PATTERN_LENGTH) {
    return { problem: `regular expression is ${source.length} characters long; at most ${MAX_PATTERN_LENGTH}` };
  }
  try {
    return new RegExp(source, 'l');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/linear time/.test(message)) {
      const culprit = nonLinearConstruct(source);
      return {
        problem:
          culprit === undefined
            ? 'regular expression cannot be matched in linear time (backreferences, lookahead, lookbehind and counted repeats over 16 are not supported)'
            : `regular expression cannot be matched in linear time: ${culprit} is not supported`,
      };
    }
    // "Invalid regular expression: /SOURCE/l: REASON": the source is already in the message's argument.
    const reason = message.slice(message.lastIndexOf(': ') + 2);
    return { problem: `invalid regular expression: ${reason}` };
  }
}

/** Counted repeats above this cannot run on the linear engine (V8's limit). */

/**
 * The first construct of `source` the linear engine refuses, named for a
 * person (`the backreference \1`), or undefined when none is recognised.
 * Escapes and character classes are stepped over, as the parser does.
 */
export function nonLinearConstruct(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    const rest = source.slice(i);
    if (char === '\\') {
      const reference = /^\\([1-9]\d*|k<[A-Za-z0-9_$]*>)/.exec(rest)?.[0];
      if (!inClass && reference !== undefined) return `the backreference ${reference}`;
      i += 1;
    } else if (inClass) {
      if (char === ']') inClass = false;
    } else if (char === '[') {
      inClass = true;
    } else if (rest.startsWith('(?=') || rest.startsWith('(?!')) {
      return `the lookahead ${rest.slice(0, 3)}`;
    } else if (rest.startsWith('(?<=') || rest.startsWith('(?<!')) {
      return `the lookbehind ${rest.slice(0, 4)}`;
    } else if (char === '{') {
      const repeat = /^\{(\d+)(?:,(\d*))?\}/.exec(rest);
      if (repeat && Math.max(Number(repeat[1]), Number(repeat[2] ?? 0)) > MAX_PATTERN_REPEAT) {
        return `the counted repeat ${repeat[0]} (at most ${MAX_PATTERN_REPEAT})`;
      }
    }
  }
  return undefined;
}
