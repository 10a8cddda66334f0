import { setFlagsFromString } from 'node:v8';

// The `l` (linear) flag exists only behind this V8 flag. It is set when this
// module loads, which is before any pattern is compiled.
setFlagsFromString('--enable-experimental-regexp-engine');

/** Longest `match:` pattern accepted, in characters: a pattern is written by a person. */
export const MAX_PATTERN_LENGTH = 1024;

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
      return {
        problem:
          'regular expression cannot be matched in linear time (backreferences, lookahead, lookbehind and counted repeats over 16 are not supported)',
      };
    }
    // "Invalid regular expression: /SOURCE/l: REASON": the source is already in the message's argument.
    const reason = message.slice(message.lastIndexOf(': ') + 2);
    return { problem: `invalid regular expression: ${reason}` };
  }
}
