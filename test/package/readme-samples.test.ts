import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, run } from './run.js';

/**
 * Every ```ts block of the README is type-checked under strict, as its own
 * module, with `procmetrics` imports resolved to the sources behind the
 * package's "exports". A block preceded by the marker comment is a fragment and
 * is left out.
 */

const FRAGMENT_MARKER = '<!-- fragment: not type-checked -->';
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface Sample {
  /** 1-based README line of the opening fence. */
  fenceLine: number;
  code: string;
}

function readmeSamples(markdown: string): { samples: Sample[]; fragments: number } {
  const lines = markdown.split('\n');
  const samples: Sample[] = [];
  let fragments = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
    if (end < 0) throw new Error(`README.md:${i + 1}: code block never closed`);
    if (lines[i - 1]?.trim() === FRAGMENT_MARKER) fragments++;
    else samples.push({ fenceLine: i + 1, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return { samples, fragments };
}

/** "procmetrics/otel" -> "<repo>/src/otel/index.ts", read from the "types" of each entry of "exports". */
function sourcePaths(dir: string): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, string | { types?: string }>;
  };
  const paths: Record<string, string[]> = {};
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const types = typeof target === 'string' ? undefined : target.types;
    const source = types?.match(/^\.\/dist\/(.+)\.d\.ts$/)?.[1];
    if (source === undefined) continue;
    const specifier = pkg.name + subpath.slice(1);
    paths[specifier] = [relative(dir, join(REPO_ROOT, 'src', `${source}.ts`))];
  }
  return paths;
}

/** tsc's "line-158.ts(4,7): error TS2304: ..." read as a README position. */
function inReadme(tscOutput: string): string {
  const position = /(?:\S*\/)?line-(\d+)\.ts\((\d+),(\d+)\)/g;
  return tscOutput.replace(position, (_, fence: string, line: string, column: string) => {
    return `README.md:${Number(fence) + Number(line)}:${column}`;
  });
}

describe('README TypeScript samples', () => {
  const { samples, fragments } = readmeSamples(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));

  it('exist, and fragments left unchecked are no more than the checked ones', () => {
    expect(samples.length).toBeGreaterThan(0);
    expect(fragments).toBeLessThanOrEqual(samples.length);
  });

  it('compile under strict', async () => {
    // Inside the checkout, so the samples see its node_modules and package.json ("type": "module").
    const dir = mkdtempSync(join(REPO_ROOT, '.readme-samples-'));
    try {
      const files = samples.map(({ fenceLine, code }) => {
        const file = `line-${fenceLine}.ts`;
        // export {} keeps each sample a module of its own, even one with no import.
        writeFileSync(join(dir, file), `${code}\nexport {};\n`);
        return file;
      });
      const tsconfig = {
        extends: relative(dir, join(REPO_ROOT, 'tsconfig.base.json')),
        compilerOptions: { strict: true, noEmit: true, paths: sourcePaths(dir) },
        files,
      };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
      const result = await run(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], REPO_ROOT).catch((error: unknown) => {
        throw new Error(inReadme(error instanceof Error ? error.message : String(error)));
      });
      expect(result.stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
