// Every public library function against wrong types, empty, negative, NaN,
// huge, unicode and control-character arguments: a typed error with a code,
// and nothing changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PidusageCollector, ProcessState, ProcfsCollector, Tracker, defaultCollector } from '../../src/index.js';
import { report } from './core-support.js';

const CODES = ['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE'];

/** Values no argument of the API accepts, whatever its type. */
const ANY_BAD: [string, unknown][] = [
  ['null', null],
  ['an object', {}],
  ['an array', []],
  ['a symbol', Symbol('x')],
  ['a bigint', 10n],
  ['a function', () => 1],
];
const BAD_NAMES: [string, unknown][] = [
  ...ANY_BAD,
  ['a number', 42],
  ['true', true],
  ['empty', ''],
  ['huge', 'x'.repeat(100_000)],
  ['a lone surrogate', 'api\ud800'],
  ['a newline', 'a\nb'],
  ['NUL', 'a\u0000'],
  ['DEL', 'a\u007f'],
  ['a C1 control', 'a\u0085'],
];
const BAD_NUMBERS: [string, unknown][] = [
  ...ANY_BAD,
  ['a string', '5'],
  ['negative', -1],
  ['zero', 0],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['huge', 2 ** 64],
  ['a fraction', 1.5],
];
const BAD_OPTIONS: [string, unknown][] = [...ANY_BAD.filter(([what]) => what !== 'an object'), ['a string', 'x'], ['a number', 1]];
const BAD_BOOLEANS: [string, unknown][] = [...ANY_BAD, ['a string', 'true'], ['a number', 1]];
const BAD_STATES: [string, unknown][] = [...ANY_BAD, ['empty', ''], ['upper case', 'Running'], ['unknown', 'crashed'], ['a number', 1]];
const BAD_SIGNALS: [string, unknown][] = [...ANY_BAD.filter(([what]) => what !== 'null'), ['a string', 'abort'], ['null', null]];

let tracker: Tracker;
beforeAll(async () => {
  tracker = new Tracker(undefined, { meterProvider: null });
  await tracker.track('known', process.pid);
});
afterAll(async () => tracker.close());

type Call = (bad: unknown) => unknown;
const table: [string, [string, unknown][], Call][] = [
  ['new Tracker(collector)', [...ANY_BAD, ['a number', 1], ['a string', 'proc']], (v) => new Tracker(v as never, { meterProvider: null })],
  ['new Tracker(_, options)', BAD_OPTIONS, (v) => new Tracker(undefined, v as never)],
  [
    'new Tracker(_, { collectionInterval })',
    BAD_NUMBERS.filter(([w]) => w !== 'a fraction'),
    (v) => new Tracker(undefined, { collectionInterval: v as never, meterProvider: null }),
  ],
  [
    'new Tracker(_, { subscriberBufferSize })',
    BAD_NUMBERS,
    (v) => new Tracker(undefined, { subscriberBufferSize: v as never, meterProvider: null }),
  ],
  ['new Tracker(_, { maxSubscribers })', BAD_NUMBERS, (v) => new Tracker(undefined, { maxSubscribers: v as never, meterProvider: null })],
  [
    'new Tracker(_, { meterProvider })',
    [...ANY_BAD.filter(([w]) => w !== 'null'), ['a string', 'otel']],
    (v) => new Tracker(undefined, { meterProvider: v as never }),
  ],
  [
    'new Tracker(_, { stateAttributes })',
    BAD_BOOLEANS,
    (v) => new Tracker(undefined, { stateAttributes: v as never, meterProvider: null }),
  ],
  ['start(signal)', BAD_SIGNALS, (v) => tracker.start(v as never)],
  ['track(name)', BAD_NAMES, (v) => tracker.track(v as never, process.pid)],
  ['track(_, pid)', BAD_NUMBERS, (v) => tracker.track('fresh', v as never)],
  ['track(_, _, options)', BAD_OPTIONS, (v) => tracker.track('fresh', process.pid, v as never)],
  ['track(_, _, { signal })', BAD_SIGNALS, (v) => tracker.track('fresh', process.pid, { signal: v as never })],
  [
    'track(_, _, { startTime })',
    BAD_NUMBERS.filter(([w]) => w !== 'a fraction'),
    (v) => tracker.track('fresh', process.pid, { startTime: v as never }),
  ],
  ['track(_, _, { countStartIfGone })', BAD_BOOLEANS, (v) => tracker.track('fresh', process.pid, { countStartIfGone: v as never })],
  ['register(name)', BAD_NAMES, (v) => tracker.register(v as never)],
  ['register(_, state)', BAD_STATES, (v) => tracker.register('fresh', v as never)],
  ['register(_, _, lastError)', ANY_BAD, (v) => tracker.register('fresh', ProcessState.Stopped, v as never)],
  ['untrack(name)', BAD_NAMES.filter(([, v]) => typeof v !== 'string'), (v) => tracker.untrack(v as never)],
  ['get(name)', BAD_NAMES.filter(([, v]) => typeof v !== 'string'), (v) => tracker.get(v as never)],
  ['subscribe(options)', BAD_OPTIONS, (v) => tracker.subscribe(v as never)],
  ['subscribe({ bufferSize })', BAD_NUMBERS, (v) => tracker.subscribe({ bufferSize: v as never })],
  ['subscribe({ signal })', BAD_SIGNALS, (v) => tracker.subscribe({ signal: v as never })],
  ['subscribe({ replay })', BAD_BOOLEANS, (v) => tracker.subscribe({ replay: v as never })],
  ['updateState(name)', BAD_NAMES.filter(([, v]) => typeof v !== 'string'), (v) => tracker.updateState(v as never, ProcessState.Failed)],
  ['updateState(_, state)', BAD_STATES, (v) => tracker.updateState('known', v as never)],
  ['updateState(_, _, lastError)', ANY_BAD, (v) => tracker.updateState('known', ProcessState.Failed, v as never)],
  ['updateHealth(name)', BAD_NAMES.filter(([, v]) => typeof v !== 'string'), (v) => tracker.updateHealth(v as never, false)],
  ['updateHealth(_, healthy)', BAD_BOOLEANS, (v) => tracker.updateHealth('known', v as never)],
  ['new ProcfsCollector(options)', BAD_OPTIONS, (v) => new ProcfsCollector(v as never)],
  ['new ProcfsCollector({ procRoot })', [...ANY_BAD, ['a number', 1], ['empty', '']], (v) => new ProcfsCollector({ procRoot: v as never })],
  ['new ProcfsCollector({ fields })', [...ANY_BAD, ['unknown', 'all'], ['empty', '']], (v) => new ProcfsCollector({ fields: v as never })],
  [
    'new ProcfsCollector({ maxOpenFds })',
    BAD_NUMBERS.filter(([w]) => w !== 'zero'),
    (v) => new ProcfsCollector({ maxOpenFds: v as never }),
  ],
  ['new ProcfsCollector({ chunkSize })', BAD_NUMBERS, (v) => new ProcfsCollector({ chunkSize: v as never })],
  ['new PidusageCollector(options)', BAD_OPTIONS, (v) => new PidusageCollector(v as never)],
  [
    'new PidusageCollector({ startTimeToleranceMs })',
    BAD_NUMBERS.filter(([w]) => w !== 'zero' && w !== 'a fraction'),
    (v) => new PidusageCollector({ startTimeToleranceMs: v as never }),
  ],
  ['defaultCollector(options)', BAD_OPTIONS, (v) => defaultCollector(v as never)],
];

async function outcomeOf(call: () => unknown): Promise<unknown> {
  try {
    const result = call();
    if (result instanceof Promise) await result;
    if (result instanceof Tracker) await result.close();
    return undefined;
  } catch (error) {
    return error;
  }
}

let cases = 0;
afterAll(() => report('bad-input', { functions: table.length, cases }));

describe('the bad-input table', () => {
  it.each(table)('%s', async (_label, values, call) => {
    for (const [what, value] of values) {
      const before = JSON.stringify({
        all: tracker.getAll().map(({ timestamp, cpu, memory, uptime, ...rest }) => rest),
        stats: { ...tracker.stats(), ticks: 0, lastTickDurationMs: 0 },
      });
      const error = await outcomeOf(() => call(value));
      cases += 1;
      expect(error, `${what}: no error`).toBeInstanceOf(Error);
      expect(CODES, `${what}: ${String(error)}`).toContain((error as { code?: unknown }).code);
      expect((error as Error).message.length).toBeLessThan(500);
      const after = JSON.stringify({
        all: tracker.getAll().map(({ timestamp, cpu, memory, uptime, ...rest }) => rest),
        stats: { ...tracker.stats(), ticks: 0, lastTickDurationMs: 0 },
      });
      expect(after, `${what}: changed something`).toBe(before);
      expect(tracker.running).toBe(false);
    }
  });
});
