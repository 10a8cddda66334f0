// A real OTLP/HTTP metrics receiver for tests: a node http server on 127.0.0.1
// taking POST /v1/metrics with an application/x-protobuf body, decoded with the
// same .proto files as the gRPC receiver.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadMetricsService, type ExportRequest } from './receiver.js';

export interface HttpReceived {
  path: string;
  contentType: string | undefined;
  headers: IncomingMessage['headers'];
  request: ExportRequest;
}

export interface OtlpHttpReceiver {
  readonly port: number;
  /** http://127.0.0.1:PORT, without a path. */
  readonly base: string;
  readonly received: HttpReceived[];
  close(): Promise<void>;
}

/** Answers every request with `status` (200 by default: accepted). */
export async function startOtlpHttpReceiver({ status = 200 }: { status?: number } = {}): Promise<OtlpHttpReceiver> {
  const service = loadMetricsService()['opentelemetry.proto.collector.metrics.v1.MetricsService'] as
    Record<string, MethodDefinition<object, object>> | undefined;
  const decode = service?.['Export']?.requestDeserialize;
  if (decode === undefined) throw new Error('MetricsService.Export not found in the proto files');
  const received: HttpReceived[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && status === 200) {
        received.push({
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          headers: req.headers,
          request: decode(Buffer.concat(chunks)) as ExportRequest,
        });
      }
      res.writeHead(status, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
