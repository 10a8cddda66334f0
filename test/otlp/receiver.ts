// A real OTLP/gRPC metrics receiver for tests: grpc-js server, protobuf decoding
// with the .proto files next to this one.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** ExportMetricsServiceRequest as proto-loader decodes it (camelCase, int64 as strings, enums as names). */
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface NumberDataPoint {
  attributes: KeyValue[];
  asDouble?: number;
  asInt?: string;
  value?: 'asDouble' | 'asInt';
}
interface HistogramDataPoint {
  attributes: KeyValue[];
  count: string;
  sum?: number;
  bucketCounts: string[];
  explicitBounds: number[];
}
interface Metric {
  name: string;
  description: string;
  unit: string;
  data?: 'sum' | 'gauge' | 'histogram';
  sum?: { dataPoints: NumberDataPoint[]; aggregationTemporality: string; isMonotonic: boolean };
  gauge?: { dataPoints: NumberDataPoint[] };
  histogram?: { dataPoints: HistogramDataPoint[]; aggregationTemporality: string };
}
export interface ExportRequest {
  resourceMetrics: Array<{
    resource?: { attributes: KeyValue[] };
    scopeMetrics: Array<{ scope?: { name: string; version: string }; metrics: Metric[] }>;
  }>;
}

export type AttributeValue = string | number | boolean;

/** One data point with everything around it, flattened for assertions. */
export interface ReceivedPoint {
  resource: Record<string, AttributeValue>;
  scope: { name: string; version: string };
  name: string;
  unit: string;
  description: string;
  kind: 'sum' | 'gauge' | 'histogram';
  monotonic: boolean | undefined;
  temporality: string | undefined;
  /** How the value was encoded on the wire. */
  encoding: 'asDouble' | 'asInt' | undefined;
  attributes: Record<string, AttributeValue>;
  /** For a histogram: its count. */
  value: number;
  /** For a histogram: bounds, counts per bucket and sum. */
  histogram?: { bounds: number[]; counts: number[]; sum: number };
}

function attributeValue(value: AnyValue | undefined): AttributeValue {
  if (value?.stringValue !== undefined) return value.stringValue;
  if (value?.boolValue !== undefined) return value.boolValue;
  if (value?.intValue !== undefined) return Number(value.intValue);
  if (value?.doubleValue !== undefined) return value.doubleValue;
  throw new Error(`unexpected attribute value ${JSON.stringify(value)}`);
}

function attributes(list: readonly KeyValue[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, attributeValue(kv.value)]));
}

export function flattenRequest(request: ExportRequest): ReceivedPoint[] {
  const points: ReceivedPoint[] = [];
  for (const rm of request.resourceMetrics) {
    const resource = attributes(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics) {
      const scope = { name: sm.scope?.name ?? '', version: sm.scope?.version ?? '' };
      for (const metric of sm.metrics) {
        const kind = metric.data;
        if (kind === undefined) throw new Error(`metric ${metric.name} is neither sum, gauge nor histogram`);
        const base = { resource, scope, name: metric.name, unit: metric.unit, description: metric.description, kind };
        if (kind === 'histogram') {
          for (const dp of metric.histogram?.dataPoints ?? []) {
            points.push({
              ...base,
              monotonic: undefined,
              temporality: metric.histogram?.aggregationTemporality,
              encoding: undefined,
              attributes: attributes(dp.attributes),
              value: Number(dp.count),
              histogram: { bounds: dp.explicitBounds, counts: dp.bucketCounts.map(Number), sum: dp.sum ?? NaN },
            });
          }
          continue;
        }
        const dataPoints = (kind === 'sum' ? metric.sum?.dataPoints : metric.gauge?.dataPoints) ?? [];
        for (const dp of dataPoints) {
          points.push({
            ...base,
            monotonic: kind === 'sum' ? metric.sum?.isMonotonic : undefined,
            temporality: kind === 'sum' ? metric.sum?.aggregationTemporality : undefined,
            encoding: dp.value,
            attributes: attributes(dp.attributes),
            value: dp.value === 'asInt' ? Number(dp.asInt) : (dp.asDouble ?? NaN),
          });
        }
      }
    }
  }
  return points;
}

export interface Received {
  request: ExportRequest;
  metadata: Record<string, string>;
}

export interface OtlpReceiver {
  readonly port: number;
  readonly url: string;
  /** Every Export call so far, decoded. */
  readonly received: Received[];
  close(): Promise<void>;
}

const PROTO_DIR = fileURLToPath(new URL('.', import.meta.url));

/** The MetricsService definitions, with decoders shaped as ExportRequest. */
export function loadMetricsService(): protoLoader.PackageDefinition {
  return protoLoader.loadSync('metrics_service.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}

function loadService(): grpc.ServiceDefinition {
  const root = grpc.loadPackageDefinition(loadMetricsService());
  const path = ['opentelemetry', 'proto', 'collector', 'metrics', 'v1', 'MetricsService'];
  let node: unknown = root;
  for (const key of path) node = (node as Record<string, unknown>)[key];
  const service = (node as { service?: grpc.ServiceDefinition } | undefined)?.service;
  if (service === undefined) throw new Error('MetricsService not found in the proto files');
  return service;
}

/**
 * Starts a receiver on 127.0.0.1 (port 0: any free one). `respond: false`
 * records requests but never answers them: a collector that hangs.
 */
export async function startOtlpReceiver(port = 0, { respond = true }: { respond?: boolean } = {}): Promise<OtlpReceiver> {
  const server = new grpc.Server();
  const received: Received[] = [];
  server.addService(loadService(), {
    Export: (call: grpc.ServerUnaryCall<ExportRequest, object>, callback: grpc.sendUnaryData<object>) => {
      const metadata: Record<string, string> = {};
      for (const [key, value] of Object.entries(call.metadata.getMap())) metadata[key] = String(value);
      received.push({ request: call.request, metadata });
      if (respond) callback(null, {});
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Exporters hold connections open; do not wait for them to go.
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}
