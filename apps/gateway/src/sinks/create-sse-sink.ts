import type { ServerResponse } from 'node:http';
import type { ResponseStreamEvent } from '@rgw/responses';
import { openEventStream, writeSseEvent } from '../http/event-stream.ts';
import { setWarningsHeader } from '../http/warnings-header.ts';
import { mapResponseFailure } from '../turns/map-response-failure.ts';
import type { TurnSink } from '../turns/turn-sink.ts';

const PREAMBLE_TYPES: ReadonlySet<string> = new Set(['response.created', 'response.in_progress', 'response.queued']);

export interface SseSinkOptions {
  /**
   * Hold the opening events until the first real output (default true): until then no byte has reached
   * the client, so a failure before any output (`error` first) is still a real HTTP error with the
   * right status (house style §7). False for replays, whose status is already settled.
   */
  readonly holdUntilOutput?: boolean;
  /** CLIENT_SEND_TIMEOUT_MS: longest wait for a client that stopped reading (writeSseEvent); unset: no bound. */
  readonly sendTimeoutMs?: number;
}

/**
 * The SSE transport of a turn (`stream: true`): one frame per event, one write per frame, the
 * client's backpressure passed back to the runner. The response is ended after the terminal event.
 */
export function createSseSink(res: ServerResponse, options: SseSinkOptions = {}): TurnSink {
  const held: ResponseStreamEvent[] = [];
  let open = false;
  if (options.holdUntilOutput === false) {
    openEventStream(res);
    open = true;
  }
  return {
    streaming: true,
    admitted({ warnings }) {
      setWarningsHeader(res, warnings);
    },
    write(event) {
      if (!open) {
        if (PREAMBLE_TYPES.has(event.type)) {
          held.push(event);
          return undefined;
        }
        if (event.type === 'error') throw mapErrorEvent(event);
        openEventStream(res);
        open = true;
        // Two or three small frames, corked into the same socket write as the event that follows.
        for (const opening of held.splice(0, held.length)) void writeSseEvent(res, opening);
      }
      return writeSseEvent(res, event, options.sendTimeoutMs);
    },
    finish() {
      res.end();
    },
  };
}

function mapErrorEvent(event: Extract<ResponseStreamEvent, { type: 'error' }>): Error {
  const nested = (event as { error?: { code?: string | null; message?: string } }).error;
  return mapResponseFailure(nested?.code ?? event.code ?? null, nested?.message ?? event.message ?? 'The backend failed.');
}
