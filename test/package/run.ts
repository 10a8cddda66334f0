import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The checkout these tests package and read. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The environment without the npm_* variables that `npm test` sets: an npm run
 * in a scratch project must not inherit this checkout's prefix or package data.
 */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key))), ...extra };
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end, with `env` over this process's environment;
 * rejects with the command, its exit and its stderr when it fails.
 */
export function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: cleanEnv(env), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const how = error.code ?? error.signal ?? 'an error';
        reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) ended with ${how}:\n${stderr}\n${stdout}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}
