import { setImmediate as nextTurn } from 'node:timers/promises';
import { defaultCollector } from '../../collectors/default.js';
import type { Telemetry } from '../../otel/telemetry.js';
import { livePage } from '../../tracker/page.js';
import { snapshotStream } from '../../tracker/stream.js';
import { Tracker } from '../../tracker/tracker.js';
import type { Subscription } from '../../tracker/types.js';
import type { CommonOptions } from '../options/args.js';
import { Board } from './board.js';
import { trackQueue, type TrackFn } from './track-queue.js';
import { createOutput, type Output, type Screen } from '../view/output.js';

export interface SessionIO {
  stdout: Screen & { isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
}

/** What every long-running command shares: exporters, tracker, board, output. */
export interface Session {
  readonly tracker: Tracker;
  readonly board: Board;
  /** Use this, not tracker.track(): it serializes and retries. */
  readonly track: TrackFn;
  readonly metricsUrl: string | null;
  /**
   * Where diagnostics and a supervised command's output go: stderr, or above
   * the live table while it is on the same terminal.
   */
  readonly stderr: { write(text: string): void };
  /** True when `stderr` is the live view: a command's output should be piped to it rather than inherit fd 2. */
  readonly stderrIsLive: boolean;
  /** Stops sampling, prints the final state, flushes OTLP and closes the port. Idempotent. */
  close(): Promise<void>;
}

/** Ticks stdout may fall behind before its oldest lines are dropped (and counted). */
const OUTPUT_TICKS_BEHIND = 8;
/** Where the metrics port serves the snapshot stream. */
const STREAM_PATH = '/events';

/**
 * Binds the exporters first, so a taken port fails before anything is tracked
 * or started, then starts sampling every `intervalMs` and printing.
 */
export async function openSession(options: CommonOptions, names: readonly string[], io: SessionIO, everyService = false): Promise<Session> {
  let sink = (text: string): unknown => io.stderr.write(text);
  const stderr = { write: (text: string): void => void sink(text) };
  const telemetry: Telemetry | null = await startExporters(options, io.env, stderr);
  const tracker = new Tracker(defaultCollector(), {
    collectionInterval: options.intervalMs,
    meterProvider: telemetry?.meterProvider ?? null,
    // A burst of state changes must not push a tick's samples out of the buffer before they are printed.
    subscriberBufferSize: 1024,
  });
  const metricsUrl = telemetry?.prometheusUrl ?? null;
  // The stream and the page share the metrics port, its bind address and its limits.
  const stream = metricsUrl === null ? null : snapshotStream(tracker);
  if (stream !== null) {
    telemetry?.route(STREAM_PATH, stream, ['GET']);
    telemetry?.route('/', livePage({ streamUrl: STREAM_PATH }));
  }
  const board = new Board(tracker, names, everyService);
  const output: Output = createOutput(io.stdout, {
    json: options.json,
    tty: io.stdout.isTTY === true,
    intervalMs: options.intervalMs,
    metricsUrl,
    current: () => board.all(),
    ...(telemetry ? { otlpStatus: () => telemetry.exportStatus() } : {}),
  });
  // The table and stderr on one terminal: what goes to stderr is printed above the table, not under it.
  const stderrIsLive = output.writeAbove !== undefined && io.stderr.isTTY === true;
  if (stderrIsLive) sink = (text) => output.writeAbove?.(text);
  // A slow reader of stdout holds the lines back, never the sampling: room for a backlog of eight whole ticks.
  // The output only reads the snapshots, so it takes the tracker's own rather than a copy of each.
  const subscription = tracker.subscribe({ bufferPerService: OUTPUT_TICKS_BEHIND, shared: true });
  const pumped = pump(subscription, output);
  tracker.start();

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await tracker.stop();
    // Let the pump take what the last tick and the last state changes published.
    await nextTurn();
    subscription.close();
    await pumped;
    output.close(board.all());
    sink = (text) => io.stderr.write(text);
    // Stream clients had the last states too; then they are told it is over.
    await nextTurn();
    await stream?.close();
    // The pipeline keeps the closed tracker's final states for the export its shutdown makes.
    await tracker.close();
    await telemetry?.shutdown().catch(() => undefined);
  };
  return {
    tracker,
    board,
    track: trackQueue(tracker, (name) => options.serviceLabels.get(name) ?? options.labels),
    metricsUrl,
    stderr,
    stderrIsLive,
    close: () => (closing ??= close()),
  };
}

/**
 * The OTel SDK (and gRPC, protobuf) take longer to load than the rest of the
 * command: they are imported only when an exporter is on.
 */
async function startExporters(
  options: CommonOptions,
  env: SessionIO['env'],
  stderr: { write(text: string): void },
): Promise<Telemetry | null> {
  if (options.prometheus === null && options.otlp === null) return null;
  const telemetry = await import('./telemetry.js');
  return telemetry.startExporters(options, env, stderr);
}

/** Longest stretch of formatting before the event loop gets a turn, ms: a tick's snapshots arrive together. */
const PUMP_SLICE_MS = 5;

/** Snapshots to the output; while stdout holds more than it took, the next wait in the subscription's buffer. */
async function pump(subscription: Subscription, output: Output): Promise<void> {
  let sliceStart = performance.now();
  for await (const snapshot of subscription) {
    if (!output.push(snapshot)) await output.drained();
    // Snapshots already waiting come without a turn of the event loop: at
    // 10,000 services, formatting a whole tick of them would hold it ~50 ms.
    if (performance.now() - sliceStart > PUMP_SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}
