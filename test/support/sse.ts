import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
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
  readonly #parser = new SseParser();
  readonly events: SseEvent[] = [];
  #complete = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#take(chunk));
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
    }
    this.#body += chunk;
    // Chunked transfer encoding: the sizes are lines of hex between the pieces.
    this.events.push(...this.#parser.push(this.#dechunk()));
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

  /** Waits for the end of the response body (its last, empty chunk). */
  async ended(): Promise<void> {
    await waitFor(() => this.#complete, { what: 'the end of the stream' });
  }

  close(): void {
    this.socket.destroy();
  }
}
