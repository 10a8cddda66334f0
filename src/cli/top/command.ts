import { setTimeout as sleep } from 'node:timers/promises';
import { STREAM_LIMITS } from '../../core/limits.js';
import type { ProcessMetrics } from '../../core/metrics.js';
import type { SessionIO } from '../session/session.js';
import { createOutput, type Output } from '../view/output.js';
import { SseParser, type SseEvent } from './sse.js';

/** Delay before the first reconnection, ms; it doubles with each failure in a row, up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;
/** A stream silent this long (not even a heartbeat) has gone away without saying so, ms. */
const SILENCE_MS = 3 * STREAM_LIMITS.heartbeatMs;

/** What `procmetrics top URL` follows. */
export interface TopCommand {
  /** The stream's URL (`/events` of another procmetrics' metrics port). */
  url: string;
  json: boolean;
}

/**
 * `procmetrics top URL`: the live table of `watch`, drawn from another
 * procmetrics' snapshot stream. When the server goes away it is tried again,
 * sooner at first, then every 5 s; the table keeps the last state meanwhile.
 * Ends (exit 0) on a stop signal.
 */
export async function top(command: TopCommand, io: SessionIO, stopRequested: Promise<NodeJS.Signals>): Promise<number> {
  const services = new Map<string, ProcessMetrics>();
  let intervalMs = 0;
  const output: Output = createOutput(io.stdout, {
    json: command.json,
    tty: io.stdout.isTTY === true,
    get intervalMs() {
      return intervalMs;
    },
    metricsUrl: null,
    source: command.url,
    current: () => [...services.values()],
  });
  const note = (text: string): void => {
    const line = `procmetrics: top: ${text}\n`;
    if (output.writeAbove !== undefined && io.stderr.isTTY === true) output.writeAbove(line);
    else io.stderr.write(line);
  };

  const stopped = new AbortController();
  void stopRequested.then(() => stopped.abort());
  const isStopped = (): boolean => stopped.signal.aborted;
  let replayed: Set<string> | null = null;
  let badEvents = 0;
  const onEvent = (event: SseEvent): boolean => {
    try {
      if (event.event === 'snapshot') {
        const snapshot = readSnapshot(event.data);
        replayed?.add(snapshot.serviceName);
        services.set(snapshot.serviceName, snapshot);
        output.push(snapshot);
      } else if (event.event === 'ready') {
        // Services the other side no longer has leave the table.
        for (const name of services.keys()) if (replayed !== null && !replayed.has(name)) services.delete(name);
        replayed = null;
        return true;
      } else if (event.event === 'stats') {
        const reported = (JSON.parse(event.data) as { intervalMs?: unknown }).intervalMs;
        if (typeof reported === 'number' && reported > 0) intervalMs = reported;
      }
    } catch {
      // Counted, and said once: a line per event would flood the terminal.
      if (badEvents++ === 0) note(`${command.url}: skipping events that are not procmetrics snapshots`);
    }
    return false;
  };

  let delayMs = RETRY_FIRST_MS;
  /** Why the last connection failed, as last said; null while connected. */
  let lastProblem: string | null = null;
  while (!isStopped()) {
    replayed = new Set();
    const problem = await follow(command.url, stopped.signal, onEvent, () => {
      if (lastProblem !== null) note(`${command.url}: connected again`);
      lastProblem = null;
      delayMs = RETRY_FIRST_MS;
    });
    if (isStopped()) break;
    // Said when it changes, not at every attempt.
    if (problem !== lastProblem) note(`${command.url}: ${problem}; trying again`);
    lastProblem = problem;
    await sleep(delayMs, undefined, { signal: stopped.signal }).catch(() => undefined);
    delayMs = Math.min(RETRY_MAX_MS, delayMs * 2);
  }
  output.close([...services.values()]);
  return 0;
}

/**
 * Reads the stream until it ends, fails or `stop` is aborted, handing each
 * event to `onEvent` (which says when the replay is complete: then
 * `onConnected`). Resolves with why it ended, in a few words.
 */
async function follow(url: string, stop: AbortSignal, onEvent: (event: SseEvent) => boolean, onConnected: () => void): Promise<string> {
  const connection = new AbortController();
  const abort = (): void => connection.abort();
  stop.addEventListener('abort', abort);
  let silence = setTimeout(abort, SILENCE_MS);
  const why = { silent: false };
  const heard = (): void => {
    clearTimeout(silence);
    silence = setTimeout(() => {
      why.silent = true;
      abort();
    }, SILENCE_MS);
  };
  try {
    const response = await fetch(url, { signal: connection.signal, headers: { accept: 'text/event-stream' } });
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      return `HTTP ${response.status}${response.status === 503 ? ' (the server has no room for another client)' : ''}`;
    }
    if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await response.body.cancel();
      return 'not an event stream (the URL of a procmetrics metrics port, e.g. http://127.0.0.1:9464)';
    }
    const parser = new SseParser();
    for await (const text of response.body.pipeThrough(new TextDecoderStream())) {
      heard();
      for (const event of parser.push(text)) if (onEvent(event)) onConnected();
    }
    return 'the server closed the stream';
  } catch (error) {
    if (why.silent) return `nothing heard for ${SILENCE_MS / 1000} s`;
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    if (code !== undefined) return code;
    if (typeof cause?.message === 'string') return cause.message;
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(silence);
    stop.removeEventListener('abort', abort);
  }
}

/** Control characters, which the other side's text must not bring to this terminal. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text from the other side without control characters; '' when it is not text. */
const clean = (value: unknown, replacement: string): string => (typeof value === 'string' ? value.replace(CONTROL, replacement) : '');

/** A snapshot from the other side, checked enough to be drawn, its text made safe for a terminal. */
function readSnapshot(data: string): ProcessMetrics {
  const raw = JSON.parse(data) as unknown;
  if (typeof raw !== 'object' || raw === null) throw new TypeError('not a snapshot');
  const fields = raw as Record<string, unknown>;
  const ok =
    typeof fields['serviceName'] === 'string' &&
    typeof fields['state'] === 'string' &&
    typeof fields['pid'] === 'number' &&
    typeof fields['cpu'] === 'object' &&
    fields['cpu'] !== null &&
    typeof fields['memory'] === 'object' &&
    fields['memory'] !== null;
  if (!ok) throw new TypeError('not a snapshot');
  return {
    ...(raw as ProcessMetrics),
    serviceName: clean(fields['serviceName'], '?'),
    state: clean(fields['state'], '?') as ProcessMetrics['state'],
    lastError: clean(fields['lastError'], ' '),
    healthError: clean(fields['healthError'], ' '),
  };
}
