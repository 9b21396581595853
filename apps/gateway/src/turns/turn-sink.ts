import type { Response, ResponseStreamEvent } from '@rgw/responses';

/** The terminal Response of a turn, with its JSON text serialised at most once (for the store and the answer alike). */
export interface FinalResponse {
  readonly response: Response;
  readonly json: string;
}

/** What admission learned that a transport may pass on before any event (the turn runner's only word to the sink besides events). */
export interface TurnAdmission {
  /** What the conversion dropped or emulated, one sentence each (ConvertedResponsesRequest.warnings). */
  readonly warnings: readonly string[];
}

/**
 * Where a turn's events go: an SSE stream, a JSON answer, a background run's event log, a compaction
 * summary, a WebSocket. The turn runner calls `write` with every event in order (the store has the
 * final Response before the terminal event is written) and `finish` once after the terminal event. A
 * transport is a sink and nothing else.
 */
export interface TurnSink {
  /**
   * Whether the events must come as the backend produces them. False (a JSON answer) lets the runner
   * make one non-streamed backend call and write every event at once, which is cheaper for both sides.
   */
  readonly streaming: boolean;
  /**
   * Once, after the turn was admitted and before the backend is called (so before any event): an HTTP
   * sink puts the warnings in a response header (x-gateway-warnings). Not called for a refused turn.
   */
  admitted?(admission: TurnAdmission): void;
  /**
   * One event. A returned promise is awaited before the next event (backpressure: a slow client holds
   * back the backend). A throw stops the turn: the backend call is aborted and the error propagates
   * to whoever runs the turn (an SSE sink throws the HTTP error for a failure before any output).
   */
  write(event: ResponseStreamEvent): void | Promise<void>;
  /** After the terminal event was written. */
  finish?(final: FinalResponse): void | Promise<void>;
}
