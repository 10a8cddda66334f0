import type { DiagLogger } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { rateLimitedDiagLogger } from '../../src/otel/diag.js';

function recorder(): { logger: DiagLogger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), verbose: at('verbose') } };
}

describe('rateLimitedDiagLogger', () => {
  it('lets one message per kind per interval through and says how many it held back', () => {
    const { logger, lines } = recorder();
    let now = 0;
    const limited = rateLimitedDiagLogger(logger, { intervalMs: 60_000, now: () => now });
    for (let attempt = 1; attempt <= 5; attempt++) {
      limited.error(`export failed: connect ECONNREFUSED 127.0.0.1:4317 (attempt ${attempt})`);
      now += 1000;
    }
    limited.warn('export failed: connect ECONNREFUSED 127.0.0.1:4317 (attempt 9)'); // another level, another kind
    limited.error('shutdown failed'); // another message, another kind
    expect(lines).toEqual([
      'error export failed: connect ECONNREFUSED 127.0.0.1:4317 (attempt 1)',
      'warn export failed: connect ECONNREFUSED 127.0.0.1:4317 (attempt 9)',
      'error shutdown failed',
    ]);
    now = 60_000;
    limited.error('export failed: connect ECONNREFUSED 127.0.0.1:4317 (attempt 60)');
    expect(lines.at(-1)).toBe(
      'error export failed: connect ECONNREFUSED 127.0.0.1:4317 (attempt 60) (4 similar messages suppressed since the last one)',
    );
  });

  it('remembers a bounded number of kinds', () => {
    const { logger, lines } = recorder();
    const limited = rateLimitedDiagLogger(logger, { maxKinds: 2, now: () => 0 });
    limited.error('a');
    limited.error('b');
    limited.error('c'); // forgets a
    limited.error('a'); // so a passes again
    limited.error('c'); // c is still remembered
    expect(lines).toEqual(['error a', 'error b', 'error c', 'error a']);
  });

  it('takes gRPC failures that differ only in their timing details for one kind', () => {
    const { logger, lines } = recorder();
    const limited = rateLimitedDiagLogger(logger, { now: () => 0 });
    const prefix = 'PeriodicExportingMetricReader: metrics export failed (error Error: 4 DEADLINE_EXCEEDED: Deadline exceeded after';
    limited.error(`${prefix} 0.080s,LB pick: 0.002s,remote_addr=127.0.0.1:35693)`);
    limited.error(`${prefix} 0.079s,remote_addr=127.0.0.1:35693)`);
    limited.error(`${prefix} 0.081s,name resolution: 0.002s,LB pick: 0.001s,remote_addr=127.0.0.1:35693)`);
    limited.error('PeriodicExportingMetricReader: metrics export failed (error Error: 14 UNAVAILABLE: No connection established)');
    expect(lines).toHaveLength(2);
  });
});
