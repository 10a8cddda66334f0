import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigFile } from '../../src/cli/options/config-file.js';
import { readRegularFile } from '../../src/cli/options/read-regular.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-read-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readRegularFile: bounded, non-blocking, regular files only', () => {
  it('reads a prefix of a file far larger than the bound, in one small read', async () => {
    const path = join(dir, 'huge.pid');
    writeFileSync(path, '4242\n');
    // Sparse: 4 GiB long on paper, nothing on disk. Reading it whole would fail (or take 4 GiB).
    truncateSync(path, 4 * 1024 ** 3);
    const read = await readRegularFile(path, 64);
    expect(read).toMatchObject({ ok: true, sizeBytes: 4 * 1024 ** 3 });
    expect(read.ok && read.head.length).toBe(64);
    expect(read.ok && read.head.toString('utf8', 0, 5)).toBe('4242\n');
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(await readRegularFile(fifo, 64)).toEqual({ ok: false, problem: 'a FIFO, not a regular file' });
  });

  it('refuses a directory and a character device, and reports errno codes', async () => {
    mkdirSync(join(dir, 'sub'));
    expect(await readRegularFile(join(dir, 'sub'), 64)).toEqual({ ok: false, problem: 'a directory, not a regular file' });
    expect(await readRegularFile('/dev/zero', 64)).toEqual({ ok: false, problem: 'a character device, not a regular file' });
    expect(await readRegularFile(join(dir, 'missing'), 64)).toEqual({ ok: false, problem: 'ENOENT' });
  });

  it('follows a symlink to a regular file', async () => {
    writeFileSync(join(dir, 'target'), '77\n');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    const read = await readRegularFile(join(dir, 'link'), 64);
    expect(read.ok && read.head.toString()).toBe('77\n');
  });
});

describe('config errors never quote the file', () => {
  const secret = 'root:$6$S3CRETsalt$hashhashhash:19000:0:99999:7:::';
  it.each([
    [`${secret}\n`, 'not valid JSON at line 1 column 1'],
    [`{\n  "interval": "1s",\n  x${secret}\n}`, 'not valid JSON at line 3 column 3'],
    [`{"interval": "1s",`, 'not valid JSON (it ends early)'],
    [`{"json": "${secret}"}`, '"json": expected true or false'],
    [`{"interval": 12345}`, '"interval": expected a string, got a number'],
  ])('%j', (text, message) => {
    let thrown: unknown;
    try {
      parseConfigFile(text, 'c.json');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'ERR_USAGE', message: expect.stringContaining(message) });
    expect((thrown as Error).message).not.toContain('S3CRET');
    expect((thrown as Error).message).not.toContain('12345');
  });
});
