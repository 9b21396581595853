import type { Response as ExpressResponse } from 'express';
import type { ResponseStreamEvent } from '@rgw/responses';
import { writeSseEvent } from '../http/write-sse-event.ts';

/** Answers with SSE and writes `events` until they end or the client leaves (which never stops their producer). */
export async function writeEventStream(res: ExpressResponse, events: AsyncGenerator<ResponseStreamEvent>): Promise<void> {
  res.status(200);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
  const leave = () => void events.return(undefined);
  res.once('close', leave);
  try {
    for await (const event of events) {
      if (res.destroyed) break;
      const draining = writeSseEvent(res, event);
      if (draining) await draining;
    }
  } finally {
    res.off('close', leave);
    res.end();
  }
}
