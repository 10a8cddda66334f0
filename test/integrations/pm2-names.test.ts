// The naming and state rules of followPm2, on lists shaped as pm2.list() gives them.
import { describe, expect, it } from 'vitest';
import { pm2ServiceNames, pm2State, type Pm2ProcessDescription } from '../../src/index.js';

const app = (name: string, pm_id: number, env: Pm2ProcessDescription['pm2_env'] = {}): Pm2ProcessDescription => ({
  name,
  pm_id,
  pid: 1000 + pm_id,
  pm2_env: { status: 'online', exec_mode: 'fork_mode', instances: 1, ...env },
});

describe('pm2ServiceNames', () => {
  it('names a single fork-mode app by its name, and each instance of a cluster or multi-instance app NAME:INSTANCE', () => {
    const list = [
      app('api', 0),
      app('web', 1, { exec_mode: 'cluster_mode', instances: 2, NODE_APP_INSTANCE: 0 }),
      app('web', 2, { exec_mode: 'cluster_mode', instances: 2, NODE_APP_INSTANCE: 1 }),
      app('jobs', 3, { instances: 3, NODE_APP_INSTANCE: 2 }),
      app('solo', 4, { exec_mode: 'cluster_mode', instances: 1, NODE_APP_INSTANCE: 0 }),
      app('custom', 5, { instances: 2, instance_var: 'INSTANCE_ID', INSTANCE_ID: 1 }),
    ];
    expect(pm2ServiceNames(list)).toEqual(['api', 'web:0', 'web:1', 'jobs:2', 'solo:0', 'custom:1']);
  });

  it('gives a second app of a name already taken NAME#PM_ID, and an instance without a number its pm_id', () => {
    expect(pm2ServiceNames([app('api', 0), app('api', 7), app('w', 8, { exec_mode: 'cluster_mode' })])).toEqual(['api', 'api#7', 'w:8']);
  });
});

describe('pm2State', () => {
  it.each([
    ['online', 'running'],
    ['launching', 'starting'],
    ['stopping', 'stopping'],
    ['stopped', 'stopped'],
    ['errored', 'failed'],
    ['waiting restart', 'starting'],
    ['one-launch-status', 'starting'],
    [undefined, 'starting'],
  ])('%s is %s', (status, state) => {
    expect(pm2State(status)).toBe(state);
  });
});
