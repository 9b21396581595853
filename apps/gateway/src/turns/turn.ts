import type { Logger } from 'pino';
import type { RequestLogFields } from '@rgw/observability';
import type { ResponsesRequest } from '@rgw/responses';
import type { TurnPersistence } from './save-final-response.ts';

/** One turn: a request with its whole conversation, who asked, and where its Response is kept. */
export interface Turn {
  /** The request to convert: earlier turns, resolved item references and expanded compactions in `input`. */
  readonly request: ResponsesRequest;
  /** Forwarded to the backend, never stored or logged. */
  readonly apiKey: string;
  readonly responseId: string;
  /** Unix seconds. */
  readonly createdAt: number;
  /**
   * Aborts the backend call: the client left, a cancel, or the gateway's shutdown. A shutdown's reason
   * is a `TurnShutdown`: the turn then ends in-band (a failure event) instead of silently.
   */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Sent to the backend as `x-request-id`. */
  readonly requestId?: string;
  /** performance.now() when the request arrived, for time to first token; default: when the turn starts. */
  readonly startedAt?: number;
  /** Log fields of the finished response (status, ttft, tokens). */
  readonly onFinished?: (fields: RequestLogFields) => void;
  /** Where the final Response is stored before the terminal event goes out. Absent: nothing is kept. */
  readonly persist?: TurnPersistence;
  /**
   * Already answered (a background run, acknowledged before it runs): counted in the turns in flight but
   * never refused for capacity, since refusing now would fail a run the client was told is queued.
   */
  readonly alreadyAccepted?: boolean;
}

/** The abort reason of every turn when the gateway's shutdown grace period is over. */
export class TurnShutdown extends Error {
  override readonly name = 'TurnShutdown';
  constructor() {
    super('The gateway is shutting down; retry the request.');
  }
}
