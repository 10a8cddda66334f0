// Run once around the whole test run (globalSetup in vitest.config.ts):
// - marks every process the run starts with PROCMETRICS_TEST_RUN=<random>, which
//   leftovers.setup.ts looks for after each file and the teardown after the last;
// - builds dist/ when it is missing or older than src/, so the tests that run
//   the built command (test/cli/cli.ts) pass on a fresh clone under plain
//   `npx vitest run <file>`, not only after `npm test`'s pretest build;
// - collects the suites that could not run here (requires.ts writes one line
//   each) and lists them at the end, so no suite is skipped without a word.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allProcesses, commandLine, key, killEach, processesOfRun, RUN_MARKER } from './leftovers.js';
import { SKIP_LOG } from './requires.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

function buildIfStale(): void {
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist/cli/main.js')).mtimeMs;
  } catch {
    // never built
  }
  if (built >= newest(join(ROOT, 'src'))) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
}

export default function setup(): () => void {
  buildIfStale();
  process.env[RUN_MARKER] = randomUUID();
  const dir = mkdtempSync(join(tmpdir(), 'procmetrics-test-run-'));
  process.env[SKIP_LOG] = join(dir, 'skipped.txt');
  const before = new Set([...allProcesses().values()].map(key));

  return () => {
    let skipped: string[] = [];
    try {
      skipped = readFileSync(join(dir, 'skipped.txt'), 'utf8').split('\n').filter(Boolean);
    } catch {
      // no suite skipped
    }
    rmSync(dir, { recursive: true, force: true });
    if (skipped.length > 0) {
      console.warn(`\n${skipped.length} suite(s) could not run on this machine:\n${skipped.map((line) => `  ${line}`).join('\n')}\n`);
    }
    // vitest's own workers may still be closing; what they started was checked after each file.
    const left = processesOfRun(process.pid, before).filter(
      (proc) => !(proc.ppid === process.pid && commandLine(proc.pid).includes('/vitest/dist/workers/')),
    );
    if (left.length > 0) {
      const lines = left.map((proc) => `  pid ${proc.pid} (parent ${proc.ppid}): ${commandLine(proc.pid)}`);
      killEach(left);
      throw new Error(`the test run left ${left.length} process(es) running (now killed):\n${lines.join('\n')}`);
    }
  };
}
