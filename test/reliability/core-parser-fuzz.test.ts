// Thousands of mutated /proc files: every parser returns a value or a typed
// error, and a collector sweep or a tracker tick over them never throws.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ProcParseError,
  ProcessNotFoundError,
  ProcfsCollector,
  Tracker,
  parseIo,
  parseStat,
  parseStatm,
  parseStatus,
  type ProcessMetrics,
} from '../../src/index.js';
import { report, seeded, size } from './core-support.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/procfs', import.meta.url));
const PER_PARSER = size(5_000, 50_000);
const SWEEPS = size(2_000, 20_000);
const FILES = ['stat', 'statm', 'status', 'io'] as const;
const ORIGINAL = Object.fromEntries(FILES.map((f) => [f, readFileSync(join(FIXTURE, 'proc/100', f))])) as Record<
  (typeof FILES)[number],
  Buffer
>;

const NASTY = ['', '\n', '\0', ' ', '-1', '99999999999999999999999', '1e308', 'NaN', ')', '(', ':\t', '\ud800', 'é', '\xff'];

/** One mutation of `input`: flipped, cut, inserted, duplicated bytes or a nasty token. */
function mutate(input: Buffer, random: () => number): Buffer {
  const pick = (n: number): number => Math.floor(random() * n);
  let bytes = Buffer.from(input);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const at = pick(bytes.length + 1);
    switch (pick(6)) {
      case 0:
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = pick(256);
        break;
      case 1:
        bytes = bytes.subarray(0, at);
        break;
      case 2:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(NASTY[pick(NASTY.length)] as string, 'utf8'), bytes.subarray(at)]);
        break;
      case 3:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(pick(bytes.length + 1))]);
        break;
      case 4:
        bytes = Buffer.concat([bytes, bytes.subarray(0, pick(bytes.length + 1))]);
        break;
      default: {
        // Replace one run of digits with a huge or empty number.
        const text = bytes.toString('latin1').replace(/\d+/, pick(2) ? '184467440737095516150' : '');
        bytes = Buffer.from(text, 'latin1');
      }
    }
  }
  return bytes;
}

/** Every number of a parsed record is finite and not negative. */
function saneNumbers(record: object): boolean {
  return Object.values(record).every((v) => typeof v !== 'number' || (Number.isFinite(v) && v >= 0));
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe(`parser fuzz: ${PER_PARSER} mutations per file kind`, () => {
  it('gives a record with sane numbers or a ProcParseError, never a throw', () => {
    const parsers = { stat: parseStat, statm: parseStatm, status: parseStatus, io: parseIo };
    const random = seeded(9);
    const tally: Record<string, { values: number; errors: number }> = {};
    for (const file of FILES) {
      const counts = { values: 0, errors: 0 };
      for (let i = 0; i < PER_PARSER; i++) {
        const input = mutate(ORIGINAL[file], random);
        let result: unknown;
        expect(
          () => {
            result = parsers[file](input);
          },
          `${file} ${JSON.stringify(input.toString('latin1'))}`,
        ).not.toThrow();
        if (result instanceof ProcParseError) counts.errors += 1;
        else {
          expect(saneNumbers(result as object), `${file} ${JSON.stringify(input.toString('latin1'))}`).toBe(true);
          counts.values += 1;
        }
      }
      tally[file] = counts;
    }
    report('parser-fuzz', { perParser: PER_PARSER, ...tally });
  });
});

describe(`collector and tracker over mutated files: ${SWEEPS} sweeps`, () => {
  it('each sweep gives an outcome per target; ticks never throw nor publish NaN', async () => {
    const root = mkdtempSync(join(tmpdir(), 'procmetrics-fuzz-'));
    dirs.push(root);
    cpSync(FIXTURE, root, { recursive: true });
    const options = { procRoot: join(root, 'proc'), hostRoot: root, clockTicksPerSecond: 100, pageSizeBytes: 4096 };
    const collector = new ProcfsCollector({ ...options, maxOpenFds: 0 });
    const tracker = new Tracker(new ProcfsCollector(options), { collectionInterval: 10, meterProvider: null });
    await tracker.track('fuzzed', 100);
    await tracker.track('steady', 400);
    const published: ProcessMetrics[] = [];
    const sub = tracker.subscribe({ bufferSize: 100_000 });
    const reading = (async () => {
      for await (const m of sub) published.push(m);
    })();
    tracker.start();
    const random = seeded(17);
    const kinds = { samples: 0, parseErrors: 0, gone: 0, other: 0 };
    for (let i = 0; i < SWEEPS; i++) {
      const file = FILES[i % FILES.length] as (typeof FILES)[number];
      writeFileSync(join(root, 'proc/100', file), mutate(ORIGINAL[file], random));
      const outcomes = await collector.sample([{ pid: 100 }, { pid: 400 }]);
      expect(outcomes).toHaveLength(2);
      const [fuzzed, steady] = outcomes;
      expect(steady?.ok).toBe(true);
      if (fuzzed?.ok) {
        kinds.samples += 1;
        expect(saneNumbers(fuzzed.sample.cpu) && saneNumbers(fuzzed.sample.memory)).toBe(true);
      } else if (fuzzed?.error instanceof ProcParseError) kinds.parseErrors += 1;
      else if (fuzzed?.error instanceof ProcessNotFoundError) kinds.gone += 1;
      else kinds.other += 1;
      if (i % 10 === 9) {
        // Let a tick read the mutated tree, then restore it and follow the process again.
        const ticks = tracker.stats().ticks;
        while (tracker.stats().ticks === ticks) await new Promise((r) => setTimeout(r, 2));
        for (const f of FILES) writeFileSync(join(root, 'proc/100', f), ORIGINAL[f]);
        if (tracker.get('fuzzed')?.state !== 'running') await tracker.track('fuzzed', 100).catch(() => undefined);
      }
    }
    await tracker.stop();
    sub.close();
    await reading;
    await tracker.close();
    collector.close();
    const numbersOf = (m: ProcessMetrics): unknown[] => [...Object.values(m.cpu), ...Object.values(m.memory), m.uptime];
    const nan = published.filter((m) => numbersOf(m).some((v) => typeof v === 'number' && !Number.isFinite(v)));
    report('parser-fuzz-sweeps', { sweeps: SWEEPS, ...kinds, ticks: tracker.stats().ticks, published: published.length });
    expect(kinds.other).toBe(0);
    expect(nan).toEqual([]);
    expect(tracker.get('steady')?.state).toBeUndefined(); // closed: forgotten, and nothing threw on the way
  }, 120_000);
});
