// ProcfsCollectors for tests: made by one factory, closed after each test, and
// read one target at a time.
import { ProcfsCollector, type ProcfsCollectorOptions } from '../../src/collectors/index.js';
import type { ProcessSample, SampleOutcome, SampleTarget } from '../../src/core/collector-port.js';

const made: ProcfsCollector[] = [];

/** A ProcfsCollector that closeCollectors() closes; pass it to afterEach. */
export function procfsCollector(options: ProcfsCollectorOptions = {}): ProcfsCollector {
  const collector = new ProcfsCollector(options);
  made.push(collector);
  return collector;
}

/** Closes every collector procfsCollector() made since the last call: their held /proc fds with them. */
export function closeCollectors(): void {
  for (const collector of made.splice(0)) collector.close();
}

/** The sample of a successful outcome; throws with the error of a failed one. */
export function sampleOf(outcome: SampleOutcome | undefined): ProcessSample {
  if (!outcome?.ok) throw new Error(`expected a sample, got ${String(outcome?.error)}`, { cause: outcome?.error });
  return outcome.sample;
}

/** Samples one target; throws when it fails. */
export async function sampleOne(collector: ProcfsCollector, target: SampleTarget): Promise<ProcessSample> {
  const [outcome] = await collector.sample([target]);
  return sampleOf(outcome);
}

/** The error of a failed outcome, undefined for a sample. */
export function errorOf(outcome: SampleOutcome | undefined): Error | undefined {
  return outcome && !outcome.ok ? outcome.error : undefined;
}
