import type { ProcessMetrics } from '../../core/metrics.js';
import type { OtlpExportStatus } from '../../otel/readers.js';
import { CpuHistory } from './history.js';
import { formatJsonLine, formatPlainLine } from './lines.js';
import { columnWidths, renderTable } from './table.js';

/** Where snapshots go: JSON lines, plain lines, or the live table. */
export interface Output {
  /** Takes a snapshot; false when the screen holds more than it took and the next push should wait for `drained()`. */
  push(snapshot: ProcessMetrics): boolean;
  /** Resolves when the screen took what it was given (at once when it did), or went away. */
  drained(): Promise<void>;
  /** Last word: the final state of every service (where it was not printed yet), terminal restored. */
  close(final: readonly ProcessMetrics[]): void;
  /**
   * The live view only: text meant for stderr (diagnostics, a supervised
   * command's output), printed above the table, which is redrawn below it.
   */
  writeAbove?(text: string): void;
}

/** The bits of a stream the outputs use; process.stdout fits. */
export interface Screen {
  /** False (as a stream's write) when the text is held in memory until a 'drain'. */
  write(text: string): unknown;
  once?(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  readonly columns?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'drain' | 'close' | 'error' | 'resize', listener: () => void): unknown;
}

export interface OutputOptions {
  json: boolean;
  /** The live table only on a terminal; anything else gets lines. */
  tty: boolean;
  intervalMs: number;
  metricsUrl: string | null;
  /** Where the snapshots come from, when that is another procmetrics' stream (`top`): shown in place of metricsUrl. */
  source?: string;
  /** How the OTLP push is doing, read at every redraw; undefined when OTLP is off. */
  otlpStatus?: () => OtlpExportStatus | undefined;
  /** The current snapshot of every service, for redrawing the table. */
  current: () => readonly ProcessMetrics[];
}

export function createOutput(screen: Screen, options: OutputOptions): Output {
  if (options.json) return new LineOutput(screen, formatJsonLine);
  if (!options.tty) return new LineOutput(screen, formatPlainLine);
  return new LiveOutput(screen, options);
}

/** What makes two snapshots of a service worth printing twice at shutdown. */
function statusKey(s: ProcessMetrics): string {
  return `${s.pid}|${s.state}|${String(s.healthy)}|${s.restartCount}|${s.lastError}|${s.healthError}`;
}

/** Lines held before they are written, in characters: a tick of thousands of services is a few writes. */
const LINE_BATCH_CHARS = 64 * 1024;

/**
 * One line per snapshot. The lines of one turn of the event loop go out in
 * one write (or one per 64 KiB), not one write each; when the screen is a
 * pipe that holds more than it took, push says so, and the caller waits for
 * drained() before the next one.
 */
class LineOutput implements Output {
  readonly #printed = new Map<string, string>();
  #pending = '';
  #flushSoon: NodeJS.Immediate | undefined;
  /** Resolves when the screen drains; undefined while it takes everything. */
  #draining: Promise<void> | undefined;

  constructor(
    private readonly screen: Screen,
    private readonly format: (snapshot: ProcessMetrics) => string,
  ) {}

  push(snapshot: ProcessMetrics): boolean {
    this.#printed.set(snapshot.serviceName, statusKey(snapshot));
    this.#pending += `${this.format(snapshot)}\n`;
    if (this.#pending.length >= LINE_BATCH_CHARS) this.#flush();
    else this.#flushSoon ??= setImmediate(() => this.#flush());
    return this.#draining === undefined;
  }

  drained(): Promise<void> {
    return this.#draining ?? Promise.resolve();
  }

  close(final: readonly ProcessMetrics[]): void {
    for (const snapshot of final) {
      if (this.#printed.get(snapshot.serviceName) !== statusKey(snapshot)) this.push(snapshot);
    }
    this.#flush();
  }

  #flush(): void {
    if (this.#flushSoon !== undefined) clearImmediate(this.#flushSoon);
    this.#flushSoon = undefined;
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    if (this.screen.write(text) !== false || this.#draining !== undefined || this.screen.once === undefined) return;
    const screen = this.screen;
    this.#draining = new Promise<void>((resolve) => {
      const done = (): void => {
        for (const event of ['drain', 'close', 'error'] as const) screen.off?.(event, done);
        this.#draining = undefined;
        resolve();
      };
      for (const event of ['drain', 'close', 'error'] as const) screen.once?.(event, done);
    });
  }
}

const CSI = '\x1b[';
const HOME = `${CSI}H`;
const CLEAR_SCREEN = `${CSI}2J`;
const CLEAR_LINE_END = `${CSI}K`;
const CLEAR_BELOW = `${CSI}J`;
const HIDE_CURSOR = `${CSI}?25l`;
const SHOW_CURSOR = `${CSI}?25h`;
/** Snapshots of one tick arrive one by one; wait this long and draw them all at once, ms. */
const REDRAW_COALESCE_MS = 20;
/** A partial line of stderr text is held for its end, up to this many characters. */
const PARTIAL_LINE_MAX = 4096;

/**
 * The table redrawn in place at the bottom of the output: the cursor goes back
 * up over the previous frame, each line is overwritten and its tail cleared,
 * then everything below is cleared. The screen is never blanked between
 * frames, so nothing flickers. Text for stderr is written where the frame
 * began and the frame follows it: it scrolls up above the table instead of
 * being overwritten by the next redraw.
 */
export class LiveOutput implements Output {
  readonly #history = new CpuHistory();
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  /** Lines of the frame on screen, which the next draw goes back over. */
  #frameLines = 0;
  /** Column widths so far: they only grow. */
  #widths: number[] = [];
  /** Stderr text after its last newline. */
  #partial = '';
  readonly #onResize = (): void => {
    // Lines of the old width may have been re-wrapped by the terminal: counting back over them is unsafe.
    this.screen.write(CLEAR_SCREEN + HOME);
    this.#frameLines = 0;
    this.#draw();
  };

  constructor(
    private readonly screen: Screen,
    private readonly options: OutputOptions,
  ) {
    screen.on?.('resize', this.#onResize);
  }

  /** Always true: the table is redrawn from the latest snapshots, so nothing waits for the terminal. */
  push(snapshot: ProcessMetrics): boolean {
    this.#history.record(snapshot);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#draw();
    }, REDRAW_COALESCE_MS);
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  writeAbove(text: string): void {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    if (this.#partial.length > PARTIAL_LINE_MAX) {
      lines.push(this.#partial);
      this.#partial = '';
    }
    if (lines.length > 0) this.#draw(undefined, undefined, lines);
  }

  close(final: readonly ProcessMetrics[]): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.screen.off?.('resize', this.#onResize);
    for (const snapshot of final) this.#history.record(snapshot);
    const rest = this.#partial === '' ? [] : [this.#partial];
    this.#partial = '';
    this.#draw(final, null, rest);
    this.screen.write(SHOW_CURSOR);
  }

  #draw(
    snapshots: readonly ProcessMetrics[] = this.options.current(),
    footer: string | null = 'Ctrl-C to stop',
    above: readonly string[] = [],
  ): void {
    this.#widths = columnWidths(snapshots, this.#widths);
    const otlp = this.options.otlpStatus?.();
    const text = renderTable({
      snapshots,
      history: (name) => this.#history.values(name),
      // A pty nobody sized (script, CI) reports 0 columns.
      width: this.screen.columns !== undefined && this.screen.columns > 0 ? this.screen.columns : 80,
      intervalMs: this.options.intervalMs,
      metricsUrl: this.options.metricsUrl,
      ...(this.options.source === undefined ? {} : { source: this.options.source }),
      minWidths: this.#widths,
      ...(otlp === undefined ? {} : { otlp }),
      ...(footer === null ? {} : { footer }),
    });
    const frame = text.split('\n');
    let out = this.#started ? '' : HIDE_CURSOR;
    this.#started = true;
    if (this.#frameLines > 0) out += `\r${CSI}${this.#frameLines}A`;
    // Text from stderr keeps what it wrote (colours included); only the rest of the line is cleared.
    for (const line of above) out += `${printable(line)}${CSI}0m${CLEAR_LINE_END}\n`;
    for (const line of frame) out += `${line}${CLEAR_LINE_END}\n`;
    this.#frameLines = frame.length;
    this.screen.write(out + CLEAR_BELOW);
  }
}

/**
 * A line of someone else's output made safe to print above the table: colours
 * (SGR) and tabs stay; cursor movement, other escape sequences, carriage
 * returns and other control characters go, since they would move or erase the frame.
 */
export function printable(line: string): string {
  return line.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b.?|[\u0000-\u0008\u000a-\u001f\u007f]/gs, (found) =>
    /^\x1b\[[0-9;]*m$/.test(found) ? found : '',
  );
}
