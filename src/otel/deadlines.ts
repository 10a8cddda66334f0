import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { EndpointTimeouts } from './config.js';

/**
 * Applies `timeouts` to an HTTP server, and gives each connection a deadline
 * of its own for its next request: its headers timeout while new, its idle
 * timeout after each response. Node checks its header and request timeouts on
 * some connections only, on some versions, and a byte now and then resets
 * every inactivity timer; a silent, half-sent or dripping connection is closed
 * here on time all the same. A connection with a request in flight is left to
 * the request and inactivity timeouts.
 */
export function applyTimeouts(server: Server, timeouts: EndpointTimeouts): void {
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.idleTimeoutMs;
  // A response the client stops reading leaves the socket silent: closed after the idle timeout too.
  server.timeout = timeouts.idleTimeoutMs;

  const inFlight = new WeakSet<Socket>();
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const awaitRequest = (socket: Socket, withinMs: number): void => {
    clearTimeout(deadlines.get(socket));
    if (socket.destroyed) return;
    const timer = setTimeout(() => {
      if (!inFlight.has(socket)) socket.destroy();
    }, withinMs);
    timer.unref();
    deadlines.set(socket, timer);
  };
  server.on('connection', (socket: Socket) => {
    awaitRequest(socket, timeouts.headersTimeoutMs);
    socket.once('close', () => clearTimeout(deadlines.get(socket)));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    inFlight.add(socket);
    clearTimeout(deadlines.get(socket));
    response.once('close', () => {
      inFlight.delete(socket);
      awaitRequest(socket, timeouts.idleTimeoutMs);
    });
  });
}
