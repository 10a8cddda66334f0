// Node raises its soft limit of open files to the hard one at start (as Go
// programs do), so the command's collector can keep descriptors open for more
// processes than a low soft limit allowed; under a low hard limit it still
// reports every service, reopening files for the processes beyond its budget.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { CLI, killAllCli, startProcess, type CliProcess } from './cli.js';
import { killAll, spawnChild, waitFor } from '../support/process.js';
import { describeWhere } from '../support/requires.js';

const PROCESSES = 200;

afterEach(async () => {
  await killAllCli();
  await killAll();
});

function missingPrlimit(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs util-linux prlimit';
  }
}

function openFilesLimits(pid: number): string {
  return /^Max open files\s+(\S+\s+\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1]?.replace(/\s+/, ':') ?? '';
}

/** `watch` of PROCESSES sleeping processes (one service each) under `prlimit --nofile=limits`. */
async function watchUnder(limits: string): Promise<{ cli: CliProcess; done: () => void }> {
  const parent = spawnChild('sh', ['-c', `for i in $(seq ${PROCESSES}); do sleep 1000 & done; wait`], { detached: true });
  const parentPid = parent.pid ?? 0;
  const children = await waitFor(
    () => {
      const pids = readFileSync(`/proc/${parentPid}/task/${parentPid}/children`, 'utf8').trim().split(' ').filter(Boolean);
      return pids.length >= PROCESSES ? pids : undefined;
    },
    { what: 'the sleeping processes' },
  );
  const dir = mkdtempSync(join(tmpdir(), 'procmetrics-nofile-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ services: Object.fromEntries(children.map((pid, i) => [`s${i}`, Number(pid)])) }));
  const cli = startProcess('prlimit', [
    `--nofile=${limits}`,
    process.execPath,
    CLI,
    'watch',
    '-c',
    config,
    '--json',
    '--prometheus',
    'off',
    '-i',
    '1s',
  ]);
  return {
    cli,
    done: () => {
      rmSync(dir, { recursive: true, force: true });
      process.kill(-parentPid, 'SIGKILL');
    },
  };
}

/** Waits until every service has been printed as running with its process read. */
function waitForAll(cli: CliProcess): Promise<unknown> {
  return waitFor(
    () =>
      new Set(
        cli
          .snapshots()
          .filter((s) => s.state === 'running' && (s.numThreads ?? 0) > 0)
          .map((s) => s.serviceName),
      ).size >= PROCESSES || undefined,
    {
      timeoutMs: 60_000,
      what: `every service read; stderr:\n${cli.stderr()}`,
    },
  );
}

describeWhere(missingPrlimit(), 'open-files limits', () => {
  it('runs with the soft limit raised to the hard one and holds more descriptors than the low limit allowed', async () => {
    const { cli, done } = await watchUnder('256:8192');
    try {
      await waitForAll(cli);
      expect(openFilesLimits(cli.pid)).toBe('8192:8192');
      // Half of 256 would be 128 at most; the descriptors are kept from the second reading of each process.
      await waitFor(() => readdirSync(`/proc/${cli.pid}/fd`).length > PROCESSES || undefined, {
        what: `more than ${PROCESSES} descriptors held`,
      });
      expect(cli.stderr()).toBe('');
    } finally {
      done();
    }
  }, 120_000);

  it('reports every service under a low hard limit', async () => {
    const { cli, done } = await watchUnder('256:256');
    try {
      await waitForAll(cli);
      expect(openFilesLimits(cli.pid)).toBe('256:256');
      expect(readdirSync(`/proc/${cli.pid}/fd`).length).toBeLessThan(256);
      expect(cli.stderr()).toBe('');
    } finally {
      done();
    }
  }, 120_000);
});
