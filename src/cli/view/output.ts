import type { ProcessMetrics } from '../../domain/metrics.js';
import { CpuHistory } from './history.js';
import { formatJsonLine, formatPlainLine } from './lines.js';
import { renderTable } from './table.js';

/** Where snapshots go: JSON lines, plain lines, or the live table. */
export interface Output {
  push(snapshot: ProcessMetrics): void;
  /** Last word: the final state of every service (where it was not printed yet), terminal restored. */
  close(final: readonly ProcessMetrics[]): void;
}

/** The bits of a stream the outputs use; process.stdout fits. */
export interface Screen {
  write(text: string): unknown;
  readonly columns?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export interface OutputOptions {
  json: boolean;
  /** The live table only on a terminal; anything else gets lines. */
  tty: boolean;
  intervalMs: number;
  metricsUrl: string | null;
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
  return `${s.pid}|${s.state}|${s.healthy}|${s.restartCount}|${s.lastError}|${s.healthError}`;
}

/** One line per snapshot. */
export class LineOutput implements Output {
  readonly #printed = new Map<string, string>();

  constructor(
    private readonly screen: Screen,
    private readonly format: (snapshot: ProcessMetrics) => string,
  ) {}

  push(snapshot: ProcessMetrics): void {
    this.#printed.set(snapshot.serviceName, statusKey(snapshot));
    this.screen.write(`${this.format(snapshot)}\n`);
  }

  close(final: readonly ProcessMetrics[]): void {
    for (const snapshot of final) {
      if (this.#printed.get(snapshot.serviceName) !== statusKey(snapshot)) this.push(snapshot);
    }
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

/**
 * The table redrawn in place: cursor home, each line overwritten and its tail
 * cleared, then everything below cleared. The screen is never blanked between
 * frames, so nothing flickers.
 */
export class LiveOutput implements Output {
  readonly #history = new CpuHistory();
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  readonly #onResize = (): void => this.#draw();

  constructor(
    private readonly screen: Screen,
    private readonly options: OutputOptions,
  ) {
    screen.on?.('resize', this.#onResize);
  }

  push(snapshot: ProcessMetrics): void {
    this.#history.record(snapshot);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#draw();
    }, REDRAW_COALESCE_MS);
  }

  close(final: readonly ProcessMetrics[]): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.screen.off?.('resize', this.#onResize);
    for (const snapshot of final) this.#history.record(snapshot);
    this.#draw(final, undefined);
    this.screen.write(`${SHOW_CURSOR}\n`);
  }

  #draw(snapshots: readonly ProcessMetrics[] = this.options.current(), footer: string | undefined = 'Ctrl-C to stop'): void {
    const text = renderTable({
      snapshots,
      history: (name) => this.#history.values(name),
      // A pty nobody sized (script, CI) reports 0 columns.
      width: this.screen.columns !== undefined && this.screen.columns > 0 ? this.screen.columns : 80,
      intervalMs: this.options.intervalMs,
      metricsUrl: this.options.metricsUrl,
      ...(footer === undefined ? {} : { footer }),
    });
    const frame = text
      .split('\n')
      .map((line) => line + CLEAR_LINE_END)
      .join('\n');
    const prefix = this.#started ? HOME : HIDE_CURSOR + CLEAR_SCREEN + HOME;
    this.#started = true;
    this.screen.write(prefix + frame + CLEAR_BELOW);
  }
}
