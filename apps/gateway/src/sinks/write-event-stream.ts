import type { ServerResponse } from 'node:http';
import type { ResponseStreamEvent } from '@rgw/responses';
import { createSseSink } from './create-sse-sink.ts';

/**
 * Answers with SSE and writes `events` (a background run's log, a stored response's replay) until they
 * end or the client leaves, which stops reading them but never their producer.
 */
export async function writeEventStream(res: ServerResponse, events: AsyncGenerator<ResponseStreamEvent>): Promise<void> {
  const sink = createSseSink(res, { holdUntilOutput: false });
  const leave = () => void events.return(undefined);
  res.once('close', leave);
  try {
    for await (const event of events) {
      if (res.destroyed) break;
      const pending = sink.write(event);
      if (pending) await pending;
    }
  } finally {
    res.off('close', leave);
    res.end();
  }
}
