import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT, run } from './run.js';

/** A copy of the checkout as a fresh clone has it: tracked and new files, no dist/, the installed node_modules. */
async function freshCopy(into: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], REPO_ROOT);
  for (const file of stdout.split('\0')) {
    if (file === '' || !existsSync(join(REPO_ROOT, file))) continue;
    mkdirSync(dirname(join(into, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(into, file));
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(into, 'node_modules'), 'dir');
}

interface PackReport {
  filename: string;
  files: { path: string }[];
}

export interface Packed {
  /** The .tgz, in `work`. */
  tarball: string;
  /** The paths it holds. */
  files: string[];
}

/**
 * What a user gets: the tarball `npm pack` makes from a checkout without a
 * build (its prepack builds), written into `work`.
 */
export async function packFreshCheckout(work: string): Promise<Packed> {
  const checkout = join(work, 'checkout');
  await freshCopy(checkout);
  if (existsSync(join(checkout, 'dist'))) throw new Error('the fresh copy of the checkout already has a dist/');
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], checkout);
  // prepack's build prints before the JSON; the JSON is the last thing npm writes.
  const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[\n'))) as PackReport[];
  if (!report) throw new Error(`npm pack reported nothing:\n${packed.stdout}`);
  return { tarball: join(work, report.filename), files: report.files.map((f) => f.path) };
}
