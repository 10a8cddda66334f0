// Many targets on one live pid under a low fd limit: none is reported missing.
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnIdle } from '../support/process.js';
import { CLI, startProcess } from './cli.js';

afterEach(killAll);

describe('watch under ulimit -n 64', () => {
  it('resolves 300 services on one live pid without a single "no process"', async () => {
    const { pid } = spawnIdle();
    const services = Array.from({ length: 300 }, (_, i) => `-s s${i}=${pid}`).join(' ');
    const cli = startProcess('sh', ['-c', `ulimit -n 64; exec "${process.execPath}" "${CLI}" watch --once --json ${services}`]);
    const { code } = await cli.exited;
    expect(cli.stderr()).not.toContain('no process');
    expect(code).toBe(0);
    expect(cli.snapshots()).toHaveLength(300);
  });
});
