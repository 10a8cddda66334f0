// Running the built command as another user (nobody) beside root's.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';
import { CLI } from '../cli/cli.js';

export const NOBODY = 65534;
/** setpriv's arguments that drop to nobody. */
export const AS_NOBODY = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

export function missingForUsers(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root, to run a second user beside it';
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'needs setpriv (util-linux)';
  if (!existsSync('/sys/fs/cgroup/cgroup.procs') && !existsSync('/sys/fs/cgroup/unified/cgroup.procs')) return 'needs cgroup v2';
  return undefined;
}

/**
 * The built command as another user can run it: the checkout itself when that
 * user may read it, else a copy (hard links where the filesystem allows) in a
 * world-readable temporary folder.
 */
let copyForUsers: string | undefined;
export function cliFor(uid: number): string {
  const probe = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, CLI, '--version'], {
    cwd: '/',
  });
  if (probe.status === 0) return CLI;
  if (copyForUsers) return copyForUsers;
  const root = dirname(dirname(CLI));
  const dir = mkdtempSync(join(tmpdir(), 'procmetrics-users-'));
  chmodSync(dir, 0o755);
  for (const part of ['dist', 'node_modules', 'package.json']) {
    const linked = spawnSync('cp', ['-al', join(root, part), dir]);
    if (linked.status !== 0) spawnSync('cp', ['-a', join(root, part), dir]);
  }
  copyForUsers = join(dir, 'dist', 'cli', 'main.js');
  return copyForUsers;
}
afterAll(() => {
  if (copyForUsers) rmSync(dirname(dirname(dirname(copyForUsers))), { recursive: true, force: true });
});
