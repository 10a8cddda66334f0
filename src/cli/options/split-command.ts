import { MAX_COMMAND_LENGTH } from '../../core/limits.js';
/** Longest health command accepted, in characters: one a person wrote on a command line. */

/**
 * Splits a `--health-cmd` string into argv without a shell, the way a POSIX
 * shell would split words but with no expansion at all:
 *
 * - unquoted whitespace separates words;
 * - `'...'` keeps everything inside literally;
 * - `"..."` keeps everything inside, except that `\"` and `\\` stand for `"` and `\`;
 * - outside quotes, `\` makes the next character literal;
 * - no `$VAR`, globs, `~`, pipes, redirections or `;`: those characters are plain text.
 *
 * Running without a shell means the check runs exactly the program named, with no
 * quoting surprises and no shell process in between whose exit status could hide
 * the check's own. Write `sh -c '...'` to get a shell when a pipe is needed.
 *
 * Returns the words, or a message saying why the text cannot be split.
 */
export function splitCommand(text: string): { ok: true; argv: string[] } | { ok: false; reason: string } {
  if (text.length > MAX_COMMAND_LENGTH) return { ok: false, reason: `longer than ${MAX_COMMAND_LENGTH} characters` };
  // Tabs and newlines separate words; any other control character is a mistake, not a program name.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return { ok: false, reason: 'holds a control character' };
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) word += text.charAt(++i);
      else word += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 >= text.length) return { ok: false, reason: 'ends with a lone backslash' };
      word += text.charAt(++i);
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote !== null) return { ok: false, reason: `unclosed ${quote} quote` };
  if (inWord) argv.push(word);
  if (argv.length === 0) return { ok: false, reason: 'empty command' };
  return { ok: true, argv };
}
