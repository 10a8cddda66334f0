import { describe, expect, it } from 'vitest';
import { AttributeSets } from '../../src/otel/attribute-sets.js';
import { fakeSnapshot } from './support.js';

describe('AttributeSets', () => {
  it('hands out the same objects while pid, state and health stay the same', () => {
    const sets = new AttributeSets();
    sets.begin();
    const first = sets.forService(fakeSnapshot({ serviceName: 'web', pid: 10 }));
    sets.commit();
    sets.begin();
    const again = sets.forService(fakeSnapshot({ serviceName: 'web', pid: 10 }));
    sets.commit();
    expect(again.perProcess).toBe(first.perProcess);
    expect(again.perService).toBe(first.perService);
    const base = again.perProcess ?? {};
    expect(sets.variant(base, 'cpu.mode', 'user')).toBe(sets.variant(base, 'cpu.mode', 'user'));
    expect(sets.variant(base, 'cpu.mode', 'user')).toEqual({ ...base, 'cpu.mode': 'user' });
  });

  it('builds new ones when the identity changes, and none without a live process', () => {
    const sets = new AttributeSets();
    sets.begin();
    const running = sets.forService(fakeSnapshot({ serviceName: 'web', pid: 10 }));
    const unhealthy = sets.forService(fakeSnapshot({ serviceName: 'web', pid: 10, healthy: false }));
    expect(unhealthy.perProcess).not.toBe(running.perProcess);
    expect(unhealthy.perProcess).toMatchObject({ 'process.healthy': false, 'process.pid': 10 });
    const restarted = sets.forService(fakeSnapshot({ serviceName: 'web', pid: 11 }));
    expect(restarted.perProcess).toMatchObject({ 'process.pid': 11, 'process.state': 'running' });
    const failed = sets.forService(fakeSnapshot({ serviceName: 'web', pid: 0, state: 'failed' }));
    expect(failed.perProcess).toBeUndefined();
    expect(failed.perService).toBe(running.perService);
  });
});
