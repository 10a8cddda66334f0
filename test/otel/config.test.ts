import { describe, expect, it } from 'vitest';
import { resolveTelemetryConfig, type TelemetryOptions } from '../../src/otel/config.js';

const resolve = (env: Record<string, string>, options: Omit<TelemetryOptions, 'env'> = {}) => resolveTelemetryConfig({ ...options, env });

describe('defaults', () => {
  it('serves Prometheus on loopback 9464 and names the resource procmetrics', () => {
    const config = resolve({});
    expect(config.exporters).toEqual(['prometheus']);
    expect(config.prometheus).toEqual({
      host: '127.0.0.1',
      port: 9464,
      idleTimeoutMs: 15_000,
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 10_000,
    });
    expect(config.resourceAttributes).toEqual({ 'service.name': 'procmetrics' });
    expect(config.otlp).toEqual({
      protocol: 'grpc',
      url: 'http://localhost:4317',
      headers: {},
      exportIntervalMs: 60_000,
      exportTimeoutMs: 30_000,
      temporality: 'cumulative',
    });
  });
});

describe('environment variables', () => {
  it('reads every supported OTEL_* variable', () => {
    const config = resolve({
      OTEL_METRICS_EXPORTER: 'otlp, prometheus,console',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s%20ecret,tenant=a',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'tenant=b',
      OTEL_METRIC_EXPORT_INTERVAL: '5000',
      OTEL_METRIC_EXPORT_TIMEOUT: '2000',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta',
      OTEL_SERVICE_NAME: 'supervisor',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,service.name=ignored',
      OTEL_EXPORTER_PROMETHEUS_HOST: '0.0.0.0',
      OTEL_EXPORTER_PROMETHEUS_PORT: '9100',
    });
    expect(config).toEqual({
      exporters: ['otlp', 'prometheus', 'console'],
      prometheus: { host: '0.0.0.0', port: 9100, idleTimeoutMs: 15_000, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000 },
      otlp: {
        protocol: 'grpc',
        url: 'http://collector:4317',
        headers: { 'api-key': 's ecret', tenant: 'b' },
        exportIntervalMs: 5000,
        exportTimeoutMs: 2000,
        temporality: 'delta',
      },
      resourceAttributes: { 'deployment.environment.name': 'prod', 'service.name': 'supervisor' },
    });
  });

  it('prefers the metrics-specific endpoint', () => {
    const config = resolve({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4317',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://metrics:4317',
    });
    expect(config.otlp.url).toBe('https://metrics:4317');
  });

  it('takes service.name from OTEL_RESOURCE_ATTRIBUTES when OTEL_SERVICE_NAME is unset', () => {
    expect(resolve({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' }).resourceAttributes['service.name']).toBe('from-attrs');
  });

  it('treats none as no exporter and blank values as unset', () => {
    expect(resolve({ OTEL_METRICS_EXPORTER: 'none' }).exporters).toEqual([]);
    expect(resolve({ OTEL_METRICS_EXPORTER: '  ', OTEL_EXPORTER_PROMETHEUS_PORT: '' })).toMatchObject({
      exporters: ['prometheus'],
      prometheus: { port: 9464 },
    });
  });

  it('never lets the export timeout exceed the interval', () => {
    expect(resolve({ OTEL_METRIC_EXPORT_INTERVAL: '1000' }).otlp.exportTimeoutMs).toBe(1000);
  });

  it.each([
    ['OTEL_METRICS_EXPORTER', 'zipkin'],
    ['OTEL_METRICS_EXPORTER', 'none,otlp'],
    ['OTEL_EXPORTER_PROMETHEUS_PORT', 'http'],
    ['OTEL_EXPORTER_PROMETHEUS_PORT', '70000'],
    ['OTEL_METRIC_EXPORT_INTERVAL', '-5'],
    ['OTEL_METRIC_EXPORT_INTERVAL', '0'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'not a url'],
    ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'ftp://collector:4317'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'novalue'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'bad=%E0%A4%A'],
    ['OTEL_RESOURCE_ATTRIBUTES', '=x'],
    ['OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', 'sometimes'],
  ])('rejects %s=%j with an error naming both', (name, value) => {
    expect(() => resolve({ [name]: value })).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^ERR_/), message: expect.stringContaining(name) }),
    );
    expect(() => resolve({ [name]: value })).toThrow(JSON.stringify(value.trim()));
  });

  it('rejects an OTLP protocol other than grpc and http/protobuf, but only when OTLP is on', () => {
    const env = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    expect(() => resolve({ ...env, OTEL_METRICS_EXPORTER: 'otlp' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL.*http\/json/);
    expect(resolve({ ...env, OTEL_METRICS_EXPORTER: 'prometheus' }).exporters).toEqual(['prometheus']);
  });

  it('takes http/protobuf, the metrics variable over the general one, and derives the URL per the spec', () => {
    const otlp = (env: Record<string, string>) => resolve({ OTEL_METRICS_EXPORTER: 'otlp', ...env }).otlp;
    expect(otlp({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })).toMatchObject({
      protocol: 'http/protobuf',
      url: 'http://localhost:4318/v1/metrics',
    });
    expect(otlp({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf' }).protocol).toBe(
      'http/protobuf',
    );
    expect(otlp({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }).url).toBe(
      'http://c:4318/v1/metrics',
    );
    expect(otlp({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/custom' }).url).toBe(
      'http://c:4318/custom',
    );
    expect(otlp({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }).url).toBe('http://c:4317');
    expect(
      resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, { exporters: ['otlp'], otlp: { protocol: 'http/protobuf' } }).otlp.protocol,
    ).toBe('http/protobuf');
    expect(() => resolve({}, { exporters: ['otlp'], otlp: { protocol: 'http/json' as 'grpc' } })).toThrow(/options\.otlp\.protocol/);
  });

  it.each([
    ['a non-ASCII value', 'x-k=é', 'grpc'],
    ['a percent-encoded non-ASCII value', 'x-k=%C3%A9', 'http/protobuf'],
    ['a tab in the value', 'x-k=a\tb', 'grpc'],
    ['a percent-encoded line feed', 'x-k=a%0Ab', 'http/protobuf'],
    ['a space in the key', 'x k=v', 'http/protobuf'],
    ['a key gRPC metadata refuses', 'x$k=v', 'grpc'],
    ['a -bin key', 'trace-bin=AAEC', 'grpc'],
  ])('refuses OTEL_EXPORTER_OTLP_HEADERS with %s, naming the variable (%s over %s)', (_, headers, protocol) => {
    const attempt = () =>
      resolve({ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_HEADERS: headers });
    expect(attempt).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('OTEL_EXPORTER_OTLP_HEADERS') }),
    );
  });

  it('takes the headers both transports carry, and leaves them alone while OTLP is off', () => {
    const env = {
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc%3D%3D,x-tenant_id.v2=a-b',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-bin-like=1',
    };
    for (const protocol of ['grpc', 'http/protobuf']) {
      expect(resolve({ ...env, OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: protocol }).otlp.headers).toEqual({
        Authorization: 'Bearer abc==',
        'x-tenant_id.v2': 'a-b',
        'x-bin-like': '1',
      });
    }
    // A -bin key is an ordinary HTTP header.
    expect(
      resolve({ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_HEADERS: 'a-bin=x' }).otlp
        .headers,
    ).toEqual({ 'a-bin': 'x' });
    expect(resolve({ OTEL_EXPORTER_OTLP_HEADERS: 'x-k=é' }).exporters).toEqual(['prometheus']);
  });

  it('gives options.otlp.endpoint the meaning of OTEL_EXPORTER_OTLP_ENDPOINT, keeping a path that already ends in /v1/metrics', () => {
    const url = (endpoint: string, protocol: 'grpc' | 'http/protobuf' = 'http/protobuf', env: Record<string, string> = {}) =>
      resolve(env, { exporters: ['otlp'], otlp: { protocol, endpoint } }).otlp.url;
    expect(url('http://c:4318')).toBe('http://c:4318/v1/metrics');
    expect(url('http://c:4318/')).toBe('http://c:4318/v1/metrics');
    expect(url('http://c:4318/otlp')).toBe('http://c:4318/otlp/v1/metrics');
    expect(url('http://c:4318/otlp/v1/metrics')).toBe('http://c:4318/otlp/v1/metrics');
    expect(url('http://c:4318/v1/metrics/')).toBe('http://c:4318/v1/metrics/');
    expect(url('http://c:4318/x?tenant=a')).toBe('http://c:4318/x/v1/metrics?tenant=a');
    expect(url('http://c:4317', 'grpc')).toBe('http://c:4317');
    // An option wins over the variables; url wins over endpoint.
    expect(url('http://c:4318', 'http/protobuf', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://env:4318/m' })).toBe(
      'http://c:4318/v1/metrics',
    );
    expect(
      resolve({}, { exporters: ['otlp'], otlp: { protocol: 'http/protobuf', url: 'http://u:1/m', endpoint: 'http://e:2' } }).otlp.url,
    ).toBe('http://u:1/m');
    expect(() => url('ftp://c')).toThrow(/options\.otlp\.endpoint/);
  });
});

describe('options', () => {
  it('win over the environment', () => {
    const config = resolve(
      { OTEL_METRICS_EXPORTER: 'console', OTEL_EXPORTER_PROMETHEUS_PORT: '9100', OTEL_SERVICE_NAME: 'env' },
      {
        exporters: ['prometheus', 'otlp'],
        prometheus: { port: 0 },
        otlp: { url: 'http://127.0.0.1:1234', headers: { a: 'b' }, exportIntervalMs: 250, temporality: 'lowmemory' },
        serviceName: 'opt',
        resourceAttributes: { team: 'infra' },
      },
    );
    expect(config.exporters).toEqual(['prometheus', 'otlp']);
    expect(config.prometheus.port).toBe(0);
    expect(config.otlp).toMatchObject({
      url: 'http://127.0.0.1:1234',
      headers: { a: 'b' },
      exportIntervalMs: 250,
      temporality: 'lowmemory',
    });
    expect(config.resourceAttributes).toEqual({ team: 'infra', 'service.name': 'opt' });
  });

  it('accept an empty exporter list', () => {
    expect(resolve({ OTEL_METRICS_EXPORTER: 'otlp' }, { exporters: [] }).exporters).toEqual([]);
  });

  it.each<[string, TelemetryOptions, string, RegExp]>([
    ['options.exporters', { exporters: 'prometheus' as never }, 'ERR_INVALID_ARG_TYPE', /"prometheus"/],
    ['options.exporters[1]', { exporters: ['otlp', 'jaeger' as never] }, 'ERR_INVALID_ARG_VALUE', /"jaeger"/],
    ['options.prometheus.port', { prometheus: { port: 65_536 } }, 'ERR_OUT_OF_RANGE', /65536/],
    ['options.prometheus.port', { prometheus: { port: 1.5 } }, 'ERR_OUT_OF_RANGE', /1\.5/],
    ['options.prometheus.host', { prometheus: { host: '' } }, 'ERR_INVALID_ARG_VALUE', /""/],
    ['options.otlp.url', { otlp: { url: 'localhost' } }, 'ERR_INVALID_ARG_VALUE', /"localhost"/],
    ['options.prometheus.idleTimeoutMs', { prometheus: { idleTimeoutMs: 0 } }, 'ERR_OUT_OF_RANGE', /0/],
    ['options.prometheus.headersTimeoutMs', { prometheus: { headersTimeoutMs: 1.5 } }, 'ERR_OUT_OF_RANGE', /1\.5/],
    ['options.otlp.headers', { exporters: ['otlp'], otlp: { headers: { 'x k': 'v' } } }, 'ERR_INVALID_ARG_VALUE', /"x k"/],
    ['options.otlp.exportIntervalMs', { otlp: { exportIntervalMs: 0 } }, 'ERR_OUT_OF_RANGE', /0/],
    ['options.otlp.temporality', { otlp: { temporality: 'Delta' as never } }, 'ERR_INVALID_ARG_VALUE', /"Delta"/],
    ['options.otlp.headers["x"]', { otlp: { headers: { x: 1 as never } } }, 'ERR_INVALID_ARG_TYPE', /1/],
    ['options.serviceName', { serviceName: 42 as never }, 'ERR_INVALID_ARG_TYPE', /42/],
    ['options.env', { env: 'x' as never }, 'ERR_INVALID_ARG_TYPE', /"x"/],
  ])('rejects a bad %s', (name, options, code, value) => {
    const attempt = () => resolveTelemetryConfig({ env: {}, ...options });
    expect(attempt).toThrow(expect.objectContaining({ code, message: expect.stringContaining(name) }));
    expect(attempt).toThrow(value);
  });
});
