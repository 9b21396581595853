/**
 * One error hierarchy for the whole gateway. Handlers and libs only throw these; one express
 * middleware renders them as the OpenAI envelope `{"error":{message,type,param,code}}`.
 * `type` follows the values OpenAI's API uses, so SDKs map them to the same exception classes.
 */
export interface GatewayErrorOptions {
  readonly param?: string | null;
  readonly code?: string | null;
  /** Extra response headers, e.g. `retry-after` for 429/503. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

export abstract class GatewayError extends Error {
  abstract readonly status: number;
  abstract readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Readonly<Record<string, string>>;

  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers ?? {};
  }
}

/** 400: the request body or parameters are wrong. */
export class InvalidRequestError extends GatewayError {
  readonly status: number = 400;
  readonly type: string = 'invalid_request_error';
}

/** 413: the body is over the configured limit. */
export class PayloadTooLargeError extends InvalidRequestError {
  override readonly status = 413;
}

/** 401: no key, or a key the backend refused. */
export class AuthenticationError extends GatewayError {
  readonly status: number = 401;
  readonly type: string = 'invalid_request_error';
}

/** 403 from the backend. */
export class PermissionDeniedError extends GatewayError {
  readonly status = 403;
  readonly type = 'invalid_request_error';
}

/** 404: unknown route, model or stored object. */
export class NotFoundError extends GatewayError {
  readonly status = 404;
  readonly type = 'invalid_request_error';
}

/** 429: a rate limit, ours or the backend's. */
export class RateLimitError extends GatewayError {
  readonly status = 429;
  readonly type = 'rate_limit_error';
}

/** A backend 4xx we pass through with its own status (e.g. 422, 409). */
export class UpstreamClientError extends GatewayError {
  readonly type = 'invalid_request_error';
  readonly status: number;
  constructor(status: number, message: string, options: GatewayErrorOptions = {}) {
    super(message, options);
    this.status = status;
  }
}

/** 502: the backend failed (5xx, connection refused or reset, malformed answer). Counts for the breaker. */
export class UpstreamError extends GatewayError {
  readonly status = 502;
  readonly type = 'server_error';
}

/** 504: the backend did not answer in time. Counts for the breaker. */
export class UpstreamTimeoutError extends GatewayError {
  readonly status = 504;
  readonly type = 'server_error';
}

/** 503: the circuit breaker is open (no backend call was made), or this replica is draining/overloaded. */
export class ServiceUnavailableError extends GatewayError {
  readonly status = 503;
  readonly type = 'server_error';
}

/** 500: a bug. Rendered without details; the cause is logged. */
export class InternalError extends GatewayError {
  readonly status = 500;
  readonly type = 'server_error';
}
