import type { ServerResponse } from 'node:http';

/** SSE event names come from our own union, but a newline in one would forge frames: refuse it. */
const EVENT_NAME = /^[\w.]{1,128}$/;

/** One frame, one write: some clients' SSE parsers lose events whose lines arrive in separate TCP segments. */
export function encodeSseEvent(event: { readonly type: string }): string {
  if (!EVENT_NAME.test(event.type)) throw new Error(`Refusing to write an SSE event named ${JSON.stringify(event.type)}`);
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * Writes one event and waits for the socket to drain when its buffer is full, so a client that
 * stops reading holds back the backend instead of growing our memory.
 */
export async function writeSseEvent(res: ServerResponse, event: { readonly type: string }): Promise<void> {
  if (res.destroyed) return;
  if (res.write(encodeSseEvent(event))) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
