import { MAX_URL_LENGTH } from '../../core/limits.js';
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
  if (portText === undefined || portText.length > 5 || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UsageError(`${quoteArg(flag, text)}: expected [HOST:]PORT with PORT 1-65535, or off`);
  }
  const hostShape = bracketed ? IPV6 : HOST_NAME;
  if (!hostShape.test(host)) {
    throw new UsageError(`${quoteArg(flag, text)}: HOST must be a host name, an IPv4 address or a [bracketed] IPv6 address`);
  }
  return { host, port };
}

/** A host on its own (a variable, no port): a name, an IPv4 or an IPv6 address, unbracketed. */
export function parseHost(text: string, name: string): string {
  const host = text.trim();
  if (!HOST_NAME.test(host) && !IPV6.test(host)) {
    throw new UsageError(`${quoteArg(name, text)}: expected a host name, an IPv4 or an IPv6 address`);
  }
  return host;
}

/** A DNS name or an IPv4 address: letters, digits, dots and dashes, at most 253. */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
/** An IPv6 address, optionally with a zone (`fe80::1%eth0`). */
const IPV6 = /^[0-9A-Fa-f:.]{2,45}(?:%[A-Za-z0-9_.-]{1,15})?$/;
/** Longest OTLP URL accepted, in characters. */

/** `--otlp` value: an http(s) URL, or `off` (null). */
export function parseOtlp(text: string, flag = '--otlp'): string | null {
  const value = text.trim();
  if (value === 'off') return null;
  parseHttpUrl(text, quoteArg(flag, text), { example: 'http://localhost:4317), or off', what: 'the OTLP endpoint' });
  return value;
}

/**
 * An http:// or https:// URL typed on the command line, trimmed; `where`
 * names the argument in the error, `example` follows "e.g." in it.
 */
export function parseHttpUrl(text: string, where: string, { example, what }: { example: string; what: string }): URL {
  const value = text.trim();
  // The URL parser drops control characters and takes any length; a URL with either was not meant.
  if (value.length > MAX_URL_LENGTH || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new UsageError(`${where}: not a URL (at most ${MAX_URL_LENGTH} characters, no control characters)`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${where}: not a URL (e.g. ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${where}: ${what} must be http:// or https://`);
  return url;
}
