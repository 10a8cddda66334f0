import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli } from './cli.js';

/**
 * Every flag, fed what a careless or hostile caller might: the wrong type (a
 * value where none is taken, none where one is needed), empty, negative, NaN,
 * huge (100 KB), unicode look-alikes and control characters. Each must exit 2
 * with one line naming the flag, before anything is started.
 */
let dir = '';
let marker = '';
let port = 0;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-flags-'));
  marker = join(dir, 'started');
  port = await freePort();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HUGE = 100_000;
const self = `me=${process.pid}`;
/** A run whose command would leave a marker file if it were ever started. */
const runArgs = (...flags: string[]): string[] => [
  'run',
  ...flags,
  '--prometheus',
  `127.0.0.1:${port}`,
  '--',
  process.execPath,
  '-e',
  `require('node:fs').writeFileSync(${JSON.stringify(marker)}, '')`,
];
const watchArgs = (...flags: string[]): string[] => ['watch', '-s', self, '--prometheus', `127.0.0.1:${port}`, ...flags];

const durationValues = ['', '-1s', 'NaN', `${'9'.repeat(HUGE)}s`, '５s', '1s\u0001', '600h', '0ms'];

/** flag -> how to pass a value to it, and the values to try. */
const table: { flag: string; argv: (value: string | undefined) => string[]; values: string[] }[] = [
  {
    flag: '--service',
    argv: (v) => ['watch', '--prometheus', `127.0.0.1:${port}`, ...(v === undefined ? ['--service'] : [`--service=${v}`])],
    values: [
      '',
      'api=-1',
      'api=NaN',
      `api=${'9'.repeat(HUGE)}`,
      `api=match:${'a'.repeat(HUGE)}`,
      'ａｐｉ=1',
      'api\u0001=1',
      'api=\u001b[2J',
      'api=match:(a)\\1',
    ],
  },
  { flag: '--interval', argv: (v) => watchArgs(...(v === undefined ? ['--interval'] : [`--interval=${v}`])), values: durationValues },
  {
    flag: '--prometheus',
    argv: (v) => ['watch', '-s', self, ...(v === undefined ? ['--prometheus'] : [`--prometheus=${v}`])],
    values: ['', '-1', 'NaN', '9'.repeat(HUGE), `${'a'.repeat(HUGE)}:9464`, '１２３', 'ü:9464', 'a\u0001b:9464', '0', '99999'],
  },
  {
    flag: '--otlp',
    argv: (v) => watchArgs(...(v === undefined ? ['--otlp'] : [`--otlp=${v}`])),
    values: ['', '-1', 'NaN', `http://${'a'.repeat(HUGE)}`, 'ｈｔｔｐ://x', 'http://x\u0001', 'ftp://x'],
  },
  {
    flag: '--config',
    argv: (v) => watchArgs(...(v === undefined ? ['--config'] : [`--config=${v}`])),
    values: ['', '-1', 'NaN', 'x'.repeat(HUGE), 'ü.json', '\u0001', '/dev/zero', '/proc'],
  },
  {
    flag: '--name',
    argv: (v) => runArgs(...(v === undefined ? ['--name'] : [`--name=${v}`])),
    values: ['', '-1 x', 'a b', 'x'.repeat(HUGE), 'ü', 'a\u0001'],
  },
  {
    flag: '--restart',
    argv: (v) => runArgs(...(v === undefined ? ['--restart'] : [`--restart=${v}`])),
    values: ['', '-1', 'NaN', 'x'.repeat(HUGE), 'ａｌｗａｙｓ', 'always\u0001'],
  },
  {
    flag: '--health-cmd',
    argv: (v) => runArgs(...(v === undefined ? ['--health-cmd'] : [`--health-cmd=${v}`])),
    values: ['', '   ', 'x'.repeat(HUGE), '"unclosed', 'true\\', 'true\u0001', 'true \u001b[2J'],
  },
  {
    flag: '--health-interval',
    argv: (v) => runArgs('--health-cmd', 'true', ...(v === undefined ? ['--health-interval'] : [`--health-interval=${v}`])),
    values: durationValues,
  },
  {
    flag: '--discover',
    argv: (v) => ['watch', '--prometheus', `127.0.0.1:${port}`, ...(v === undefined ? ['--discover'] : [`--discover=${v}`])],
    values: ['', '/nonexistent/rules.yml', '/proc/self/stat', '/dev/zero', `/tmp/${'x'.repeat(HUGE)}`, '/tmp/\u0001rules.yml'],
  },
  {
    flag: '--max-groups',
    argv: (v) => watchArgs(...(v === undefined ? ['--max-groups'] : [`--max-groups=${v}`])),
    values: ['', '0', '-1', 'NaN', '1e3', '１０', '9'.repeat(HUGE), '100001'],
  },
  {
    flag: '--label',
    argv: (v) => watchArgs(...(v === undefined ? ['--label'] : [`--label=${v}`])),
    values: [
      '',
      'team',
      '=x',
      'team=',
      'team.name=x',
      '__x=y',
      'service_name=x',
      'cpu_mode=x',
      `team=${'x'.repeat(HUGE)}`,
      'team=a\u0001',
      'ｔｅａｍ=x',
    ],
  },
  { flag: '--json', argv: (v) => watchArgs(`--json=${v ?? ''}`), values: ['yes', '', '1'] },
  { flag: '--once', argv: (v) => watchArgs(`--once=${v ?? ''}`), values: ['yes', ''] },
  { flag: '--single-process', argv: (v) => runArgs(`--single-process=${v ?? ''}`), values: ['yes', ''] },
  { flag: '--state-labels', argv: (v) => watchArgs(`--state-labels=${v ?? ''}`), values: ['yes', ''] },
  { flag: '--pm2', argv: (v) => watchArgs(`--pm2=${v ?? ''}`), values: ['yes', ''] },
];

const cases = table.flatMap(({ flag, argv, values }) => [
  ...values.map((value) => [flag, JSON.stringify(value).slice(0, 40), () => argv(value)] as const),
  ...(flag === '--json' || flag === '--once' || flag === '--single-process' || flag === '--state-labels' || flag === '--pm2'
    ? []
    : [[flag, '(no value)', () => argv(undefined)] as const]),
]);

describe('every flag, every kind of bad value: exit 2, one line naming the flag, nothing started', () => {
  it.each(cases)('%s %s', async (flag, _shown, argv) => {
    const result = await runCli(argv());
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('internal error');
    const lines = result.stderr.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1)).toHaveLength(1);
    expect(lines[0]).toMatch(/^procmetrics: /);
    expect(lines[0]).toContain(flag);
    expect(lines[0]?.length).toBeLessThan(600);
    // No control character reaches the terminal.
    expect(lines[0]).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(existsSync(marker)).toBe(false);
  });
});
