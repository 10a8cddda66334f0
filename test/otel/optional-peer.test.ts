import { describe, expect, it } from 'vitest';
import { MissingPeerDependencyError } from '../../src/otel/index.js';
import { loadOptionalPeers } from '../../src/otel/optional-peer.js';

// Specifiers built at run time, so no bundler or type checker goes looking for them.
const absent = ['@procmetrics-test', 'not-installed'].join('/');
const alsoAbsent = ['procmetrics-test', 'also-not-installed'].join('-');

describe('loadOptionalPeers', () => {
  it('turns a package that is not installed into a MissingPeerDependencyError naming every package and the install line', async () => {
    const loading = loadOptionalPeers('OTLP over test', [absent, 'yaml'], () => import(absent));
    const error = (await loading.catch((e: unknown) => e)) as MissingPeerDependencyError;
    expect(error).toBeInstanceOf(MissingPeerDependencyError);
    expect(error).toMatchObject({ code: 'ERR_PROCMETRICS_MISSING_PEER', feature: 'OTLP over test', packages: [absent, 'yaml'] });
    expect(error.message).toBe(`OTLP over test needs ${absent} and yaml, which are not installed: npm install ${absent} yaml`);
    expect((error.cause as { code?: string }).code).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('lets a missing module that is not one of the named packages through unchanged: a broken install is not an optional peer', async () => {
    const loading = loadOptionalPeers('OTLP over test', [absent], () => import(alsoAbsent));
    const error = (await loading.catch((e: unknown) => e)) as Error & { code?: string };
    expect(error).not.toBeInstanceOf(MissingPeerDependencyError);
    expect(error.code).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('lets any other failure through unchanged, and returns what loads', async () => {
    const thrown = new Error('the module threw');
    await expect(loadOptionalPeers('x', [absent], () => Promise.reject(thrown))).rejects.toBe(thrown);
    await expect(loadOptionalPeers('x', ['yaml'], async () => (await import('yaml')).parse('a: 1') as unknown)).resolves.toEqual({ a: 1 });
  });
});
