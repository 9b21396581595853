import { GatewayError, toErrorEnvelope } from '@rgw/errors';

/** The frame a WebSocket client gets for a request refused before any response existed. */
export interface ErrorFrame {
  readonly type: 'error';
  /** The HTTP status the same failure has over HTTP. */
  readonly status: number;
  readonly error: {
    readonly type: string;
    readonly code: string | null;
    readonly message: string;
    readonly param: string | null;
    /** What HTTP would send as headers (`retry-after`), when there are any. */
    readonly headers?: Readonly<Record<string, string>>;
  };
  /** The same headers where Codex reads them (codex-rs responses_websocket.rs `WrappedWebsocketErrorEvent`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * OpenAI's WebSocket error event, `{"type":"error","status":400,"error":{"type","code","message","param"}}`,
 * built from the same error model as the HTTP envelope, so a failure has the same status, type and code
 * on both transports. Codex maps `status` like an HTTP status (retries 429/5xx) and retries
 * `websocket_connection_limit_reached` on a new connection.
 */
export function buildErrorFrame(error: unknown): ErrorFrame {
  const { status, body, headers } = toErrorEnvelope(error);
  const hasHeaders = Object.keys(headers).length > 0;
  return {
    type: 'error',
    status,
    error: { type: body.error.type, code: body.error.code, message: body.error.message, param: body.error.param, ...(hasHeaders ? { headers } : {}) },
    ...(hasHeaders ? { headers } : {}),
  };
}

/** True when `error` is one of ours (a client's mistake or a refusal), not a bug. */
export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}
