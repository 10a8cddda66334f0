import { readFileSync } from 'node:fs';

/**
 * The package version, read once from package.json. Both src/otel (tests, tsx)
 * and dist/otel (the build) sit two levels below the package root, so one
 * relative URL serves both, and the build keeps rootDir at src.
 */
function readPackageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') {
      return parsed.version;
    }
  } catch {
    // A bundler that moved this file: the meter still works without a version.
  }
  return '0.0.0';
}

export const PACKAGE_VERSION: string = readPackageVersion();
