import type { ServerResponse } from 'node:http';
import { boundSend } from './client-send-timeout.ts';

/** SSE event names come from our own union, but a newline in one would forge frames: refuse it. */
const EVENT_NAME = /^[\w.]{1,128}$/;

/** One frame, one write: some clients' SSE parsers lose events whose lines arrive in separate TCP segments. */
export function encodeSseEvent(event: { readonly type: string }): string {
  if (!EVENT_NAME.test(event.type)) throw new Error(`Refusing to write an SSE event named ${JSON.stringify(event.type)}`);
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Answers 200 with an event stream: the status and headers leave at once (no byte of the body yet). */
export function openEventStream(res: ServerResponse): void {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  // nginx and other proxies must not buffer the stream.
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
}

/**
 * Writes one event. When the socket's buffer is full it returns a promise of the drain, which the
 * caller awaits, so a client that stops reading holds back the backend instead of growing our
 * memory; otherwise nothing (no promise and no microtask turn per event on the common path). With
 * `sendTimeoutMs`, a drain that takes longer destroys the response (its socket) and the promise
 * rejects with ClientSendTimeout: a client that never reads again cannot hold the backend forever.
 */
export function writeSseEvent(res: ServerResponse, event: { readonly type: string }, sendTimeoutMs?: number): Promise<void> | undefined {
  if (res.destroyed) return undefined;
  // The events of one burst (a stream opens and closes with 4–5 at once) leave in one socket write:
  // corked until the microtasks that produce them are done. A syscall per event was the main cost of
  // a short stream (docs/benchmarks.md). The socket is corked, not `res`: Node 24's
  // ServerResponse.end() while corked sends the chunked terminator before the corked events.
  const socket = res.socket;
  if (socket && socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  if (res.write(encodeSseEvent(event))) return undefined;
  const drained = new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return boundSend(drained, sendTimeoutMs, () => res.destroy());
}
