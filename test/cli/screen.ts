/**
 * What a terminal would show after a stream of output, for the few control
 * sequences the live view uses: CR, LF, cursor up (CSI n A), erase to end of
 * line (CSI K), erase below (CSI J). Other CSI sequences (colours, cursor
 * visibility) change nothing here. Every line ever written is kept, as a
 * terminal's scrollback does; lines do not wrap.
 */
export function screenOf(stream: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const at = (r: number): string => lines[r] ?? '';
  for (let i = 0; i < stream.length; i++) {
    const char = stream[i] ?? '';
    if (char === '\r') col = 0;
    else if (char === '\n') {
      // A pty's default output processing (onlcr) turns LF into CR LF.
      col = 0;
      row += 1;
      while (lines.length <= row) lines.push('');
    } else if (char === '\x1b' && stream[i + 1] === '[') {
      const match = /^\x1b\[([0-9;?]*)([@-~])/.exec(stream.slice(i, i + 16));
      if (!match) continue;
      i += match[0].length - 1;
      const [, params = '', command] = match;
      if (command === 'A') row = Math.max(0, row - Number(params || '1'));
      else if (command === 'K') lines[row] = [...at(row)].slice(0, col).join('');
      else if (command === 'J') {
        lines[row] = [...at(row)].slice(0, col).join('');
        lines.length = row + 1;
      }
    } else {
      const chars = [...at(row)];
      while (chars.length < col) chars.push(' ');
      chars[col] = char;
      lines[row] = chars.join('');
      col += 1;
    }
  }
  return lines;
}
