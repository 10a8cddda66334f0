// The watcher hands the tracker the identity it resolved, not just a pid.
import { afterEach, describe, expect, it } from 'vitest';
import { Board } from '../../src/cli/session/board.js';
import type { TrackRequest } from '../../src/cli/session/track-queue.js';
import { resolveAll } from '../../src/cli/watch/resolve.js';
import { Watcher } from '../../src/cli/watch/watcher.js';
import { Tracker } from '../../src/index.js';
import { killAll, spawnIdle } from '../support/process.js';

afterEach(killAll);

describe('watch: pid and start time travel together', () => {
  it('resolves a pid to its start time in ms and tracks with it', async () => {
    const idle = spawnIdle();
    const services = [{ name: 'api', target: { kind: 'pid' as const, pid: idle.pid } }];
    const first = await resolveAll(services, new Set());
    const resolution = first.get('api');
    expect(resolution).toMatchObject({ found: true, pid: idle.pid });

    const tracker = new Tracker(undefined, { meterProvider: null });
    const requests: { pid: unknown; request?: TrackRequest }[] = [];
    const watcher = new Watcher(
      async (name, pid, request) => {
        requests.push({ pid, request });
        await tracker.track(name, pid, { startTime: request?.startTime });
      },
      new Board(tracker, ['api']),
      services,
      new Set(),
    );
    await watcher.begin(first, 60_000);
    await watcher.stop();
    const startTime = resolution?.found ? resolution.startTime : 0;
    expect(requests).toMatchObject([{ pid: idle.pid, request: { startTime } }]);
    expect(tracker.get('api')).toMatchObject({ pid: idle.pid, startTime, state: 'running' });
    await tracker.close();
  });
});
