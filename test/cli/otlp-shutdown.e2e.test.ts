// The last word reaches the collector: on SIGTERM, `run` stops its command and the
// final OTLP export carries the service's stopped state.
import { afterEach, describe, expect, it } from 'vitest';
import { flattenRequest, startOtlpReceiver, type OtlpReceiver } from '../otlp/receiver.js';
import { waitFor } from '../support/process.js';
import { killAllCli, startCli, waitForSnapshot } from './cli.js';

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await killAllCli();
  await receiver?.close();
});

describe('run pushing OTLP, stopped by SIGTERM', () => {
  it('exports the stopped state in its final export', async () => {
    receiver = await startOtlpReceiver();
    // A long export interval: only the first export and the one shutdown makes can arrive.
    const cli = startCli(
      ['run', '--name', 'api', '--json', '--prometheus', 'off', '--otlp', receiver.url, '-i', '200ms', '--', 'sleep', '1000'],
      {
        OTEL_METRIC_EXPORT_INTERVAL: '60000',
      },
    );
    await waitForSnapshot(cli, (s) => s.state === 'running' && s.pid > 0, 'running');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toMatchObject({ code: 143 });
    const states = await waitFor(
      () => {
        const last = receiver!.received.at(-1);
        const points = last === undefined ? [] : flattenRequest(last.request);
        const current = points.filter((p) => p.name === 'procmetrics.service.state' && p.value === 1);
        return current.length > 0 && current.map((p) => [p.attributes['service.name'], p.attributes['procmetrics.state']]);
      },
      { what: 'a final export with the service state' },
    );
    expect(states).toEqual([['api', 'stopped']]);
    // Stopped: no process series are left in it.
    const last = flattenRequest(receiver.received.at(-1)!.request);
    expect(last.filter((p) => p.name.startsWith('process.'))).toEqual([]);
  });
});
