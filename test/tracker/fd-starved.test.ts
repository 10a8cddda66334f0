// Out of fds is an error of the collector, never an exit of the service.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../workloads/fd-starved.mjs', import.meta.url));

interface View {
  states: string[];
  pids: number;
  stats: { processExits: number; collectionErrors: number; collectionTimeouts: number; services: number };
  errorCounts: Record<string, number>;
}

describe('a tracker whose process has no fd left (ulimit -n 64)', () => {
  it('counts EMFILE as collection errors, keeps every service running, and recovers', () => {
    const out = execFileSync('sh', ['-c', `ulimit -n 64; exec "${process.execPath}" "${SCRIPT}" 100`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const { fillError, lateTrack, starved, recovered } = JSON.parse(out) as {
      fillError: string;
      lateTrack: string;
      starved: View;
      recovered: View;
    };
    expect(fillError).toBe('EMFILE');
    // A new track() cannot read the process: an EMFILE error, not "no such process".
    expect(lateTrack).toMatch(/:EMFILE$/);
    expect(starved).toMatchObject({ states: ['running'], pids: 2, stats: { processExits: 0, services: 100 } });
    expect(starved.stats.collectionErrors).toBeGreaterThanOrEqual(100);
    expect(starved.errorCounts['stat:EMFILE']).toBeGreaterThanOrEqual(100);
    // Once fds are free again, the next ticks read every service without a new read error (a
    // sample that overran its budget on a loaded machine is a timeout, counted apart).
    expect(recovered).toMatchObject({ states: ['running'], stats: { processExits: 0 } });
    const readErrors = (view: View): number => view.stats.collectionErrors - view.stats.collectionTimeouts;
    expect(readErrors(recovered)).toBe(readErrors(starved));
    expect(recovered.errorCounts['stat:EMFILE']).toBe(starved.errorCounts['stat:EMFILE']);
  });
});
