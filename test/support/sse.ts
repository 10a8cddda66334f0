import { once } from 'node:events';
import { get, type ClientRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createGunzip } from 'node:zlib';
import { SseParser, type SseEvent } from '../../src/cli/top/sse.js';
import { waitFor } from './process.js';

export type { SseEvent } from '../../src/cli/top/sse.js';

/**
 * A stream client on a raw socket: it sends the request and collects what
 * comes, unless paused, when it leaves it in the kernel's buffers as a client
 * that does not read would.
 */
export class RawStreamClient {
  readonly socket: Socket;
  #head = '';
  #body = '';
  #headDone = false;
  /** Whether the body comes in chunks (Transfer-Encoding: chunked) or as it is, up to the end of the connection. */
  #chunked = false;
  readonly #parser = new SseParser();
  readonly events: SseEvent[] = [];
  #complete = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#take(chunk));
    socket.on('end', () => {
      if (this.#headDone && !this.#chunked) this.#complete = true;
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, path = '/events', { paused = false, method = 'GET' } = {}): Promise<RawStreamClient> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const client = new RawStreamClient(socket);
    if (paused) socket.pause();
    socket.write(`${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n`);
    return client;
  }

  #take(chunk: string): void {
    if (!this.#headDone) {
      this.#head += chunk;
      const end = this.#head.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.#headDone = true;
      chunk = this.#head.slice(end + 4);
      this.#head = this.#head.slice(0, end);
      this.#chunked = /^transfer-encoding: *chunked\r?$/im.test(this.#head);
    }
    if (!this.#chunked) {
      this.events.push(...this.#parser.push(chunk));
      return;
    }
    this.#body += chunk;
    // Chunked transfer encoding: the sizes are lines of hex between the pieces.
    this.events.push(...this.#parser.push(this.#dechunk()));
  }

  /** The response head's header `name` (lower case), once the head came. */
  async header(name: string): Promise<string | undefined> {
    const head = await this.head();
    const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`));
    return line?.slice(name.length + 1).trim();
  }

  /** Takes the complete chunks out of the body. */
  #dechunk(): string {
    let out = '';
    for (;;) {
      const line = this.#body.indexOf('\r\n');
      if (line < 0) break;
      const size = parseInt(this.#body.slice(0, line), 16);
      if (Number.isNaN(size) || this.#body.length < line + 2 + size + 2) break;
      if (size === 0) this.#complete = true;
      out += this.#body.slice(line + 2, line + 2 + size);
      this.#body = this.#body.slice(line + 2 + size + 2);
    }
    return out;
  }

  /** The status line and headers, once they came. */
  async head(): Promise<string> {
    return waitFor(() => this.#headDone && this.#head, { what: 'the response head', timeoutMs: 15_000 });
  }

  async status(): Promise<number> {
    return Number((await this.head()).split(' ')[1]);
  }

  /** Waits for an event that satisfies `probe`. */
  async waitFor(probe: (event: SseEvent, all: readonly SseEvent[]) => boolean, what: string, timeoutMs = 20_000): Promise<SseEvent> {
    return waitFor(() => this.events.find((event) => probe(event, this.events)), {
      timeoutMs,
      what: `${what}; events so far: ${this.events
        .slice(-5)
        .map((e) => `${e.event}${e.comment !== undefined ? ':' : ''}`)
        .join(' ')}`,
    });
  }

  /** Waits for the end of the response body: its last, empty chunk, or the end of the connection. */
  async ended(): Promise<void> {
    await waitFor(() => this.#complete, { what: 'the end of the stream' });
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * A stream client that asks for gzip, as browsers and `fetch` do, and reads
 * the body through Node's own gunzip: a stream that is not one valid gzip
 * member, its CRC and length included, ends in `error` rather than `ended`.
 */
export class GzipStreamClient {
  readonly events: SseEvent[] = [];
  /** What came over the wire, compressed. */
  wireBytes = 0;
  /** What the body was, decompressed. */
  plainBytes = 0;
  headers: Record<string, string | string[] | undefined> = {};
  error: Error | undefined;
  #ended = false;
  readonly #request: ClientRequest;

  constructor(port: number, path = '/events') {
    const parser = new SseParser();
    this.#request = get(
      { host: '127.0.0.1', port, path, headers: { 'accept-encoding': 'gzip', accept: 'text/event-stream' } },
      (response) => {
        this.headers = response.headers;
        response.on('data', (chunk: Buffer) => (this.wireBytes += chunk.length));
        const body = response.headers['content-encoding'] === 'gzip' ? response.pipe(createGunzip()) : response;
        body.on('data', (chunk: Buffer) => {
          this.plainBytes += chunk.length;
          this.events.push(...parser.push(chunk.toString('utf8')));
        });
        body.on('end', () => (this.#ended = true));
        body.on('error', (error: Error) => (this.error = error));
      },
    );
    this.#request.on('error', (error: Error) => (this.error ??= error));
  }

  async waitFor(probe: (event: SseEvent, all: readonly SseEvent[]) => boolean, what: string, timeoutMs = 20_000): Promise<SseEvent> {
    return waitFor(() => this.events.find((event) => probe(event, this.events)), { timeoutMs, what });
  }

  /** Waits for the end of the decompressed body; throws what went wrong on the way. */
  async ended(): Promise<void> {
    await waitFor(() => this.#ended || this.error, { what: 'the end of the gzip stream' });
    if (this.error !== undefined) throw this.error;
  }

  close(): void {
    this.#request.destroy();
  }
}
