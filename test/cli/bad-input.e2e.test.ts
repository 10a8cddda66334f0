import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killAllCli, runCli } from './cli.js';

let dir = '';
let takenPort = 0;
let blocker: Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-bad-'));
  writeFileSync(join(dir, 'garbage.pid'), 'not a pid\n');
  writeFileSync(join(dir, 'broken.json'), '{"interval": ');
  writeFileSync(join(dir, 'typo.json'), '{"intervall": "5s"}');
  takenPort = await freePort();
  blocker = createServer().listen(takenPort, '127.0.0.1');
  await once(blocker, 'listening');
});

afterAll(async () => {
  blocker.close();
  await killAllCli();
  rmSync(dir, { recursive: true, force: true });
});

// Our own pid exists for as long as the test runs: a valid target for the cases that need one.
const self = `me=${process.pid}`;

describe('bad input: one line on stderr naming the problem, exit 2, nothing started', () => {
  const cases: [string, () => string[], () => string][] = [
    ['unknown flag', () => ['watch', '-s', self, '--frobnicate'], () => 'unknown option --frobnicate'],
    ['missing command', () => [], () => 'missing command'],
    ['malformed NAME=TARGET', () => ['watch', '-s', 'api'], () => '--service "api": expected NAME=TARGET'],
    ['duplicate service name', () => ['watch', '-s', self, '-s', 'me=1'], () => 'duplicate service name "me"'],
    ['pid that is not a number', () => ['watch', '-s', 'api=12x'], () => 'pid "12x" is not a process id'],
    [
      'unreadable pid file',
      () => ['watch', '-s', `api=pidfile:${join(dir, 'missing.pid')}`],
      () => `cannot read pid file ${join(dir, 'missing.pid')}: ENOENT`,
    ],
    [
      'pid file without a pid',
      () => ['watch', '-s', `api=pidfile:${join(dir, 'garbage.pid')}`],
      () => `pid file ${join(dir, 'garbage.pid')} does not hold a pid`,
    ],
    ['invalid regex', () => ['watch', '-s', 'api=match:(unclosed'], () => '--service "api=match:(unclosed": invalid regular expression'],
    [
      'port in use',
      () => ['watch', '-s', self, '--prometheus', `127.0.0.1:${takenPort}`],
      () => `--prometheus 127.0.0.1:${takenPort}: port already in use`,
    ],
    ['bad interval', () => ['watch', '-s', self, '--interval', 'soon'], () => '--interval "soon": not a duration'],
    ['bad port', () => ['watch', '-s', self, '--prometheus', '99999'], () => '--prometheus "99999"'],
    ['bad restart policy', () => ['run', '--restart', 'maybe', '--', 'true'], () => '--restart "maybe"'],
    ['run without a command', () => ['run'], () => 'run needs a command after --'],
    [
      'unreadable config',
      () => ['watch', '-c', join(dir, 'nope.json')],
      () => `--config ${JSON.stringify(join(dir, 'nope.json'))}: cannot read (ENOENT)`,
    ],
    ['config that is not JSON', () => ['watch', '-c', join(dir, 'broken.json')], () => 'not valid JSON'],
    [
      'config with an unknown key',
      () => ['watch', '-c', join(dir, 'typo.json')],
      () => 'unknown key "intervall" (did you mean "interval"?)',
    ],
    ['misspelt flag', () => ['watch', '-s', self, '--intervall', '5s'], () => 'unknown option --intervall (did you mean --interval?)'],
    ['a path as the target', () => ['watch', '-s', 'api=/run/api.pid'], () => 'a pid file is written "pidfile:/run/api.pid"'],
    ['a program name as the target', () => ['watch', '-s', 'web=nginx'], () => 'write "match:nginx"'],
    [
      'regex the linear engine cannot run',
      () => ['watch', '-s', 'api=match:(a)\\1'],
      () => 'cannot be matched in linear time: the backreference \\1 is not supported',
    ],
  ];

  it.each(cases)('%s', async (_what, argv, message) => {
    const result = await runCli(argv());
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^procmetrics: /);
    expect(lines[0]).toContain(message());
  });
});

describe('an invalid regular expression', () => {
  it('is named once, with what is wrong with it said once', async () => {
    const result = await runCli(['watch', '-s', 'api=match:(unclosed']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('procmetrics: --service "api=match:(unclosed": invalid regular expression: Unterminated group\n');
  });
});
