import { UsageError, quoteArg } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export const DEFAULT_PROMETHEUS: HostPort = { host: '127.0.0.1', port: 9464 };

/**
 * `--prometheus` value: `PORT`, `HOST:PORT`, `[IPv6]:PORT`, or `off` (null).
 * A bare port keeps the default host 127.0.0.1: metrics stay local unless asked.
 */
export function parsePrometheus(text: string, flag = '--prometheus'): HostPort | null {
  const value = text.trim();
  if (value === 'off') return null;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  const plain = /^(?:([^:\s]+):)?(\d+)$/.exec(value);
  const host = bracketed?.[1] ?? plain?.[1] ?? DEFAULT_PROMETHEUS.host;
  const portText = bracketed?.[2] ?? plain?.[2];
  const port = Number(portText);
  if (portText === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UsageError(`${quoteArg(flag, text)}: expected [HOST:]PORT with PORT 1-65535, or off`);
  }
  return { host, port };
}

/** `--otlp` value: an http(s) URL, or `off` (null). */
export function parseOtlp(text: string, flag = '--otlp'): string | null {
  const value = text.trim();
  if (value === 'off') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${quoteArg(flag, text)}: not a URL (e.g. http://localhost:4317), or off`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${quoteArg(flag, text)}: the OTLP endpoint must be http:// or https://`);
  }
  return value;
}
