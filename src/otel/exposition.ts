import type { AttributeValue } from '@opentelemetry/api';
import type { ProcessMetrics } from '../core/metrics.js';
import type { HistogramValue, ReadContext, TrackerView } from '../metrics/metric-table.js';
import { prometheusName, prometheusType, sanitizeName } from '../metrics/prometheus-names.js';
import { CONTENT_TYPES, escapeHelp, escapeLabelValue, formatValue, histogramSamples, label, targetInfoText } from './prometheus-text.js';
import { ATTR_PROCMETRICS_HEALTHY, ATTR_PROCMETRICS_STATE, ATTR_SERVICE_NAME } from '../metrics/semconv.js';
import type { Gathered } from './source-set.js';
import { visitServiceRow, visitTrackerRow, type CompiledRow, type CompiledTable } from '../metrics/walk.js';

/**
 * The Prometheus text exposition (format 0.0.4), written straight from the
 * trackers' snapshots through the metric table. No SDK aggregation and no
 * attribute sets are kept: a scrape holds exactly the live services' series,
 * and memory follows the live set.
 *
 * Label text is cached per service while its state and health stay the same,
 * and the work is cut into slices of `sliceMs` with the event loop served
 * between them, so a scrape of thousands of services never stalls ticks. The
 * text goes out in blocks as it is made (to a compressor, or to the socket):
 * a scrape never holds the whole exposition.
 */

export const EXPOSITION_CONTENT_TYPE = CONTENT_TYPES.text;

type Snapshot = Readonly<ProcessMetrics>;

/** A service's label text, kept while its state and health stay the same. */
interface ServiceLabels {
  state: string;
  healthy: boolean;
  /** The last collection that saw it; older entries are let go. */
  generation: number;
  /** The snapshot's labels object this text was built from. */
  labels: Readonly<Record<string, string>>;
  /** service_name="..." and the service's extra labels */
  service: string;
  /** service_name, procmetrics_state, procmetrics_healthy. */
  status: string;
}

const SERVICE_LABEL = sanitizeName(ATTR_SERVICE_NAME);
const STATE_LABEL = sanitizeName(ATTR_PROCMETRICS_STATE);
const HEALTHY_LABEL = sanitizeName(ATTR_PROCMETRICS_HEALTHY);

/**
 * The same text as one flat string. V8 keeps a string built by concatenation
 * as a tree of its pieces, about 32 bytes a piece, until something flattens
 * it; label text is kept for every service, so its trees would cost some
 * 600 bytes a service against 190 flat. Slicing flattens the whole first.
 */
function flat(text: string): string {
  return ` ${text}`.slice(1);
}

/** service_name="..." then the extra labels, whose names need no translation (validated as Prometheus names). */
function serviceLabels(snapshot: Snapshot): string {
  let text = `${SERVICE_LABEL}="${escapeLabelValue(snapshot.serviceName)}"`;
  for (const [name, value] of Object.entries(snapshot.labels)) text += `,${name}="${escapeLabelValue(value)}"`;
  return flat(text);
}

function statusLabels(service: string, snapshot: Snapshot): string {
  return flat(`${service},${STATE_LABEL}="${snapshot.state}",${HEALTHY_LABEL}="${String(snapshot.healthy)}"`);
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How often the slice clock is read, in services. */
const SERVICES_PER_CHECK = 32;

export interface ExpositionOptions {
  /** Longest stretch of work before the event loop gets a turn, ms (default 5). */
  sliceMs?: number;
}

export class ExpositionWriter {
  readonly #labels = new Map<string, ServiceLabels>();
  /** Per row: dimension value -> `name="value"` text. */
  readonly #dimensionText: Map<string, string>[];
  readonly #headers: string[];
  readonly #targetInfo: string;
  readonly #sliceMs: number;
  #generation = 0;
  /** What the last stamp was given: its snapshots and tracker figures. */
  #stamped: { snapshots: readonly Snapshot[]; view: string } | undefined;
  #stamp = 0;

  constructor(
    private readonly table: CompiledTable,
    private readonly context: ReadContext,
    resourceAttributes: Readonly<Record<string, AttributeValue | undefined>>,
    options: ExpositionOptions = {},
  ) {
    this.#sliceMs = options.sliceMs ?? 5;
    this.#dimensionText = table.rows.map(() => new Map<string, string>());
    this.#headers = table.rows.map((row) => {
      const name = prometheusName(row.name, row.unit, row.kind);
      return `# HELP ${name} ${escapeHelp(row.description)}\n# TYPE ${name} ${prometheusType(row.kind)}\n`;
    });
    this.#targetInfo = targetInfoText(resourceAttributes, 'text');
  }

  /**
   * A number that stays the same while what is gathered would give the same
   * text. Snapshots are replaced, never changed, when a tracker samples: when
   * every one is the same object as at the last stamp and the tracker figures
   * are the same, so is the text, and a scrape between two ticks can reuse
   * what the one before it sent.
   */
  stamp(gathered: Gathered): number {
    const view = viewKey(gathered.view);
    const last = this.#stamped;
    if (last === undefined || last.view !== view || !sameItems(last.snapshots, gathered.snapshots)) {
      this.#stamped = { snapshots: gathered.snapshots, view };
      this.#stamp++;
    }
    return this.#stamp;
  }

  /**
   * The exposition of what was gathered, target_info first, as UTF-8 blocks
   * of about 64 KiB handed to `sink` as they are made: the whole text is never
   * held, nor built as one string. Family by family (a family's lines must
   * stand together), service by service within it. A promise from `sink`
   * holds the writing until it settles. With `reuse`, the sink promises to be
   * done with a block when that promise settles, and every block is written
   * into the same memory: a scrape then leaves no buffers behind for the
   * garbage collector (at 10,000 services, 20 MB of them).
   */
  async write(gathered: Gathered, sink: BlockSink, { reuse = false }: { reuse?: boolean } = {}): Promise<void> {
    const generation = ++this.#generation;
    const { snapshots } = gathered;
    // Filled during the first family, inside its slices.
    const labels = new Array<ServiceLabels>(snapshots.length);

    const out = new ByteBlocks(sink, reuse);
    out.add(this.#targetInfo);
    let header = '';
    let base = '';
    const line = <T>(row: CompiledRow<T>, dimensionValue: string | undefined, value: number | HistogramValue): void => {
      if (header !== '') {
        out.add(header);
        header = '';
      }
      const dimension = dimensionValue === undefined ? '' : this.#dimension(row, dimensionValue);
      if (typeof value === 'number') out.sample(row.prometheusName, base, dimension, value);
      else
        out.add(histogramSamples(row.prometheusName, base === '' || dimension === '' ? base + dimension : `${base},${dimension}`, value));
    };

    let sliceStart = performance.now();
    for (const row of this.table.services) {
      header = this.#headers[row.index] as string;
      for (let i = 0; i < snapshots.length; i++) {
        const entry = (labels[i] ??= this.#labelsOf(snapshots[i] as Snapshot, generation));
        base = row.identity === 'status' ? entry.status : entry.service;
        visitServiceRow(row, snapshots[i] as Snapshot, this.context, line);
        if (i % SERVICES_PER_CHECK === SERVICES_PER_CHECK - 1 && performance.now() - sliceStart > this.#sliceMs) {
          await out.hand();
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
    }
    for (const [name, entry] of this.#labels) if (entry.generation !== generation) this.#labels.delete(name);
    base = '';
    for (const row of this.table.tracker) {
      header = this.#headers[row.index] as string;
      visitTrackerRow(row, gathered.view, this.context, line);
    }
    await out.finish();
  }

  #labelsOf(snapshot: Snapshot, generation: number): ServiceLabels {
    let entry = this.#labels.get(snapshot.serviceName);
    if (entry === undefined) {
      const service = serviceLabels(snapshot);
      entry = {
        state: snapshot.state,
        healthy: snapshot.healthy,
        generation,
        labels: snapshot.labels,
        service,
        status: statusLabels(service, snapshot),
      };
      this.#labels.set(snapshot.serviceName, entry);
    } else if (entry.state !== snapshot.state || entry.healthy !== snapshot.healthy || entry.labels !== snapshot.labels) {
      if (entry.labels !== snapshot.labels) {
        entry.labels = snapshot.labels;
        entry.service = serviceLabels(snapshot);
      }
      entry.state = snapshot.state;
      entry.healthy = snapshot.healthy;
      entry.status = statusLabels(entry.service, snapshot);
    }
    entry.generation = generation;
    return entry;
  }

  #dimension<T>(row: CompiledRow<T>, value: string): string {
    const cache = this.#dimensionText[row.index] as Map<string, string>;
    let text = cache.get(value);
    if (text === undefined) {
      text = label(row.dimension as string, value);
      // Dynamic dimensions (error kinds) are few; the cap keeps a runaway source from growing it.
      if (cache.size < 1024) cache.set(value, text);
    }
    return text;
  }
}

/** Takes the exposition block by block; a promise it returns holds the writer until it settles. */
export type BlockSink = (block: Buffer) => void | Promise<void>;

/** Characters of text per block. */
const BLOCK_CHARS = 65_536;

/**
 * Text gathered into blocks as it comes, turned into bytes and handed to the
 * sink between slices. A block's pieces are kept apart and joined once, when
 * it is cut: built by concatenation, every line would be a string of its own
 * and every piece a node of a string tree, garbage the size of the
 * exposition several times over (at 10,000 services, about 90 MB a scrape).
 */
class ByteBlocks {
  readonly #ready: string[] = [];
  /**
   * The pieces of the block being made: the first #count, the rest ''. The
   * array keeps the length it grew to, so that it is not grown again for
   * every block.
   */
  readonly #pieces: string[] = [];
  #count = 0;
  #chars = 0;
  /** With reuse: the memory every block is written into, grown to the largest block. */
  #scratch: Buffer | undefined;

  constructor(
    private readonly sink: BlockSink,
    private readonly reuse: boolean,
  ) {}

  add(text: string): void {
    this.#pieces[this.#count++] = text;
    this.#chars += text.length;
    if (this.#chars >= BLOCK_CHARS) this.#cut();
  }

  /** `name{labels,dimension} value` and a newline, as `sample` writes it, in pieces; either label text may be ''. */
  sample(name: string, labels: string, dimension: string, value: number): void {
    const number = formatValue(value);
    const pieces = this.#pieces;
    let n = this.#count;
    pieces[n++] = name;
    if (labels !== '' || dimension !== '') {
      pieces[n++] = '{';
      pieces[n++] = labels;
      if (labels !== '' && dimension !== '') pieces[n++] = ',';
      pieces[n++] = dimension;
      pieces[n++] = '} ';
    } else pieces[n++] = ' ';
    pieces[n++] = number;
    pieces[n++] = '\n';
    this.#count = n;
    // Near enough for cutting blocks: the braces, comma, space and newline are counted as five.
    this.#chars += name.length + labels.length + dimension.length + number.length + 5;
    if (this.#chars >= BLOCK_CHARS) this.#cut();
  }

  /** Hands over the blocks made so far. */
  async hand(): Promise<void> {
    for (const text of this.#ready.splice(0)) await this.sink(this.#bytes(text));
  }

  async finish(): Promise<void> {
    this.#cut();
    await this.hand();
  }

  #cut(): void {
    if (this.#count === 0) return;
    this.#ready.push(this.#pieces.join(''));
    this.#pieces.fill('', 0, this.#count);
    this.#count = 0;
    this.#chars = 0;
  }

  #bytes(text: string): Buffer {
    if (!this.reuse) return Buffer.from(text, 'utf8');
    const size = Buffer.byteLength(text, 'utf8');
    if (this.#scratch === undefined || this.#scratch.length < size) this.#scratch = Buffer.allocUnsafe(Math.max(size, 2 * BLOCK_CHARS));
    return this.#scratch.subarray(0, this.#scratch.write(text, 0, 'utf8'));
  }
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Everything of the tracker view that reaches the text, as one comparable string. */
function viewKey(view: TrackerView): string {
  return JSON.stringify([view.stats, [...view.errorCounts], [...(view.exportFailures ?? [])]]);
}
