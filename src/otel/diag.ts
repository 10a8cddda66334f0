import type { DiagLogFunction, DiagLogger } from '@opentelemetry/api';

type Level = keyof DiagLogger;

export interface RateLimitOptions {
  /** One message of a kind per this many ms (default 60000). */
  intervalMs?: number;
  /** Kinds remembered at once; the oldest is forgotten beyond it, so memory stays bounded (default 256). */
  maxKinds?: number;
  /** Clock, ms; tests pass their own. */
  now?: () => number;
}

/**
 * The "kind" of a message: its level and start, with numbers blanked, so
 * "export failed ... 127.0.0.1:4317 (attempt 3)" and "(attempt 4)" are one kind.
 * The start ends at the first comma or semicolon past its 60th character:
 * gRPC appends timing details there ("Deadline exceeded after 0.08s,LB pick:
 * 0.002s,remote_addr=...") that differ from one failure to the next.
 */
function kindOf(level: Level, message: string): string {
  const blanked = message.replace(/\d+/g, '#');
  const end = blanked.slice(60).search(/[,;]/);
  return `${level}:${(end < 0 ? blanked : blanked.slice(0, 60 + end)).slice(0, 120)}`;
}

/**
 * A DiagLogger that lets one message per kind per interval through and counts
 * the rest, so an unreachable collector costs one log line a minute instead of
 * one per export attempt. The next message of a kind says how many were held back.
 */
export function rateLimitedDiagLogger(inner: DiagLogger, options: RateLimitOptions = {}): DiagLogger {
  const intervalMs = options.intervalMs ?? 60_000;
  const maxKinds = options.maxKinds ?? 256;
  const now = options.now ?? Date.now;
  const kinds = new Map<string, { since: number; suppressed: number }>();

  const logAt =
    (level: Level): DiagLogFunction =>
    (message, ...args) => {
      const kind = kindOf(level, message);
      const t = now();
      const seen = kinds.get(kind);
      if (seen !== undefined && t - seen.since < intervalMs) {
        seen.suppressed += 1;
        return;
      }
      kinds.delete(kind); // re-inserted last: Map order is then oldest-first
      if (kinds.size >= maxKinds) {
        const oldest = kinds.keys().next();
        if (oldest.done !== true) kinds.delete(oldest.value);
      }
      kinds.set(kind, { since: t, suppressed: 0 });
      const held = seen?.suppressed ?? 0;
      inner[level](held > 0 ? `${message} (${held} similar messages suppressed since the last one)` : message, ...args);
    };

  return {
    error: logAt('error'),
    warn: logAt('warn'),
    info: logAt('info'),
    debug: logAt('debug'),
    verbose: logAt('verbose'),
  };
}
