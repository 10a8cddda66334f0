import { checkString } from '../core/validate.js';
import { InvalidArgumentValueError, OutOfRangeError, describeValue } from '../core/errors.js';

/**
 * Readers of OTEL_* environment variables and of the telemetry options that
 * are OpenTelemetry's own (URLs, header lists). Each names the variable or
 * option it checks and the bad value, so a user sees which setting to fix.
 * The general checks (objects, strings, integers, one-of) are core/validate.ts'.
 */

/** An absolute http:// or https:// URL (what the OTLP gRPC exporter understands). */
export function checkHttpUrl(name: string, value: unknown): string | undefined {
  const text = checkString(name, value);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentValueError(`${name} must be an http:// or https:// URL, got ${describeValue(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentValueError(`${name} must be an http:// or https:// URL, got ${describeValue(text)}`);
  }
  return text;
}

/** An environment variable: undefined when unset or blank (the OTel spec treats both alike). */
export function envValue(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A decimal integer from an environment variable; errors quote the text as it was set. */
export function parseEnvInteger(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new OutOfRangeError(`${name} must be an integer from ${min} to ${max}, got ${describeValue(text)}`);
  }
  return value;
}

/**
 * The W3C-baggage-like `key1=value1,key2=value2` list of OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_EXPORTER_OTLP_HEADERS; keys and values are percent-decoded.
 */
export function parseKeyValueList(name: string, text: string | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (text === undefined) return result;
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const bad = (): never => {
      throw new InvalidArgumentValueError(`${name} must be a list of key=value pairs, got ${describeValue(text)}`);
    };
    if (eq <= 0) bad();
    try {
      const key = decodeURIComponent(item.slice(0, eq).trim());
      if (key === '') bad();
      result[key] = decodeURIComponent(item.slice(eq + 1).trim());
    } catch (error) {
      if (error instanceof InvalidArgumentValueError) throw error;
      bad();
    }
  }
  return result;
}

/** An HTTP header name (RFC 9110 token). */
const HTTP_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A gRPC metadata key, once lowercased; `-bin` keys carry binary values, which a text variable cannot give. */
const GRPC_METADATA_KEY = /^[0-9a-z_.-]+$/;
/** What both a gRPC ASCII metadata value and a plain HTTP header value carry: printable ASCII. */
const HEADER_VALUE = /^[\x20-\x7e]*$/;

/**
 * Headers as the transport of `protocol` will take them: refused here, naming
 * `name` and the header, rather than by gRPC or HTTP code at the first export.
 */
export function checkHeaders(name: string, headers: Record<string, string>, protocol: 'grpc' | 'http/protobuf'): Record<string, string> {
  for (const [key, value] of Object.entries(headers)) {
    const where = `${name}: header ${describeValue(key)}`;
    if (!HTTP_HEADER_NAME.test(key)) {
      throw new InvalidArgumentValueError(`${where}: a header name is letters, digits and !#$%&'*+-.^_\`|~ only`);
    }
    if (protocol === 'grpc') {
      if (!GRPC_METADATA_KEY.test(key.toLowerCase())) {
        throw new InvalidArgumentValueError(`${where}: gRPC metadata keys are letters, digits, '-', '_' and '.' only`);
      }
      if (key.toLowerCase().endsWith('-bin')) {
        throw new InvalidArgumentValueError(`${where}: gRPC -bin keys carry binary values, which cannot be given as text`);
      }
    }
    if (!HEADER_VALUE.test(value)) {
      throw new InvalidArgumentValueError(
        `${where}: the value must be printable ASCII (no control characters, tabs or non-ASCII, percent-encoded or not), got ${describeValue(value)}`,
      );
    }
  }
  return headers;
}
