import { describe, expect, it } from 'vitest';
import { splitCommand } from '../../src/cli/options/split-command.js';

describe('--health-cmd splitting (no shell)', () => {
  it.each([
    ['curl -fsS http://localhost:8080/health', ['curl', '-fsS', 'http://localhost:8080/health']],
    ['  test   -f  /tmp/ok ', ['test', '-f', '/tmp/ok']],
    [`sh -c 'pgrep -x api | head -1'`, ['sh', '-c', 'pgrep -x api | head -1']],
    [`echo "a \\"quoted\\" word"`, ['echo', 'a "quoted" word']],
    [`echo "back\\\\slash" 'lit\\eral'`, ['echo', 'back\\slash', 'lit\\eral']],
    ['echo a\\ b', ['echo', 'a b']],
    [`echo '' ""`, ['echo', '', '']],
    ['echo $HOME *', ['echo', '$HOME', '*']],
    ['a"b"c', ['abc']],
  ])('%s', (text, argv) => {
    expect(splitCommand(text)).toEqual({ ok: true, argv });
  });

  it.each([
    ['', 'empty command'],
    ['   ', 'empty command'],
    [`echo 'open`, "unclosed ' quote"],
    ['echo "open', 'unclosed " quote'],
    ['echo \\', 'lone backslash'],
  ])('refuses %j: %s', (text, reason) => {
    const result = splitCommand(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });
});
