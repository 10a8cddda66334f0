// A crash loop faster than sampling: every real start is counted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/process.js';
import { killAllCli, startCli } from './cli.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-crash-'));
});
afterEach(async () => {
  await killAllCli();
  rmSync(dir, { recursive: true, force: true });
});

function startsIn(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

describe('run --restart always of a command that exits at once', () => {
  it('counts every start: restarts_total is starts - 1', async () => {
    const log = join(dir, 'starts');
    // Each start appends its pid, then exits 1 within a few ms: long before any sample.
    const cli = startCli([
      'run',
      '--name',
      'crashy',
      '--restart',
      'always',
      '--json',
      '--prometheus',
      'off',
      '-i',
      '1s',
      '--',
      'sh',
      '-c',
      `echo $$ >> '${log}'; exit 1`,
    ]);
    await waitFor(() => startsIn(log) >= 4, { timeoutMs: 15_000, what: 'four starts' });
    cli.child.kill('SIGTERM');
    await cli.exited;
    const starts = startsIn(log);
    const restarts = Math.max(...cli.snapshots().map((s) => s.restartCount));
    expect(restarts).toBe(starts - 1);
    // One failed line per exit (and the final state once more if it differs).
    const failed = cli.snapshots().filter((s) => s.state === 'failed');
    expect(new Set(failed.map((s) => s.restartCount)).size).toBe(starts);
  });
});
