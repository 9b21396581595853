import { type Response, type ResponseStreamEvent, isTerminalEvent } from '@rgw/responses';
import type { WebSocket } from 'ws';
import { boundSend } from '../http/client-send-timeout.ts';
import type { TurnSink } from '../turns/turn-sink.ts';

/**
 * Events go out uncompressed even when the client negotiated permessage-deflate: they are small and
 * latency-bound, and with context takeover `ws` compresses every message whatever its threshold. That
 * was 4 ms of CPU and a zlib thread-pool round trip per turn of 25 frames (docs/benchmarks.md, "tool loop").
 */
export const PLAIN = { compress: false } as const;

export interface WebSocketSinkOptions {
  /**
   * Most bytes queued for the client before a write waits for the socket to drain (and the runner's
   * backend read with it): a client that stops reading holds the backend back instead of growing our memory.
   */
  readonly maxBufferedBytes: number;
  /**
   * CLIENT_SEND_TIMEOUT_MS: the longest such a wait may last. Past it the socket is terminated (a
   * close handshake cannot reach a client that does not read) and the write rejects with
   * ClientSendTimeout, which ends the turn and aborts its backend call. Unset: no bound.
   */
  readonly sendTimeoutMs?: number;
  /**
   * Called with the final Response right after its terminal frame was handed to the socket, in the
   * same synchronous step: whatever it does synchronously is done before the client's next frame can
   * be read (the connection caches the response there and takes the next `response.create`), and none
   * of it delays the frame.
   */
  readonly onTerminal?: (response: Response) => void;
}

export interface WebSocketSink extends TurnSink {
  /**
   * Sends a `keepalive` event if nothing went out since the previous call (the connection's timer
   * calls it every WEBSOCKET_KEEPALIVE_SECONDS while the turn runs).
   */
  keepAlive(): void;
  /** True once the terminal event went out. */
  readonly ended: boolean;
}

/**
 * The WebSocket transport of a turn: the events the SSE path sends, one JSON text frame each, in order,
 * nothing held back (there is no HTTP status to settle on a socket). During a long backend prefill it
 * adds `{"type":"keepalive","sequence_number":n}` events, as OpenAI's own streams do: Codex fails a
 * stream after 300 s without a frame and does not count pings, and it (like the openai SDKs) passes
 * over an event type it does not act on. A keepalive takes its place in the numbering, so the events
 * after it are renumbered: sequence numbers stay unique and increasing.
 */
export function createWebSocketSink(socket: WebSocket, options: WebSocketSinkOptions): WebSocketSink {
  let shift = 0;
  let lastSequence = -1;
  let sentSinceCheck = false;
  let ended = false;

  function send(text: string): Promise<void> | undefined {
    sentSinceCheck = true;
    if (socket.readyState !== socket.OPEN) return undefined;
    if (socket.bufferedAmount + text.length <= options.maxBufferedBytes) {
      socket.send(text, PLAIN);
      return undefined;
    }
    // Resolved once this frame reached the kernel (or the socket failed): everything before it did too.
    const drained = new Promise<void>((resolve) => socket.send(text, PLAIN, () => resolve()));
    return boundSend(drained, options.sendTimeoutMs, () => socket.terminate());
  }

  function renumber(event: ResponseStreamEvent): ResponseStreamEvent {
    if (shift === 0) {
      lastSequence = event.sequence_number;
      return event;
    }
    lastSequence = event.sequence_number + shift;
    return { ...event, sequence_number: lastSequence };
  }

  return {
    streaming: true,
    write(event) {
      if (!isTerminalEvent(event)) return send(JSON.stringify(renumber(event)));
      ended = true;
      const sent = send(JSON.stringify(renumber(event)));
      options.onTerminal?.(event.response);
      return sent;
    },
    keepAlive() {
      if (!sentSinceCheck && !ended) {
        shift += 1;
        lastSequence += 1;
        // Nobody awaits a keepalive: a timeout on it is the turn's too, and surfaces at its next write.
        void send(JSON.stringify({ type: 'keepalive', sequence_number: lastSequence }))?.catch(() => undefined);
      }
      sentSinceCheck = false;
    },
    get ended() {
      return ended;
    },
  };
}
