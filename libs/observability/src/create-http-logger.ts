import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { resolveRequestId } from './request-id.ts';
import { readRouteLabel } from './route-label.ts';
import { serializeError } from './serialize-error.ts';

/**
 * Fields the gateway puts on `res.locals.logFields` while handling a request; they are added to the
 * one access-log line written when the response ends. Only scalar values are logged (never bodies).
 */
export interface RequestLogFields {
  model?: string | undefined;
  /** Time from request arrival to the first output delta sent to the client, milliseconds. */
  ttft_ms?: number | undefined;
  input_tokens?: number | undefined;
  output_tokens?: number | undefined;
  reasoning_tokens?: number | undefined;
  upstream_status?: number | undefined;
  error_code?: string | undefined;
  [field: string]: string | number | boolean | null | undefined;
}

// Probes and scrapes every few seconds would drown the access log.
const QUIET_PATHS = new Set(['/health', '/ready', '/metrics']);

function stripQuery(url: string | undefined): string {
  if (url === undefined) return '';
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

function readLogFields(res: ServerResponse): Record<string, string | number | boolean | null> {
  const locals = (res as Partial<Response>).locals;
  const fields: unknown = locals?.['logFields'];
  const result: Record<string, string | number | boolean | null> = {};
  if (typeof fields !== 'object' || fields === null) return result;
  const entries: [string, unknown][] = Object.entries(fields);
  for (const [key, value] of entries) {
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      result[key] = value;
    }
  }
  return result;
}

function summarizeRequest(req: IncomingMessage, res: ServerResponse, durationMs: number): Record<string, unknown> {
  const locals = (res as Partial<Response>).locals ?? {};
  return {
    request_id: req.id,
    route: readRouteLabel(req as Request, locals),
    status: res.statusCode,
    duration_ms: durationMs,
    // A response that closed before it ended: the client went away mid-stream.
    ...(res.writableEnded ? {} : { aborted: true }),
    ...readLogFields(res),
  };
}

/**
 * The access log: one JSON line per request when the response ends (or the client goes away), with
 * request id, method, path (query string dropped: it may carry `?api_key=`), route template, status,
 * duration and whatever the gateway recorded in `res.locals.logFields` (model, ttft_ms, tokens, …).
 *
 * The request id is the client's `x-request-id` when well-formed, else a new UUID; it is set on
 * `req.id` and echoed in the `x-request-id` response header. Headers and bodies are never logged.
 */
export function createHttpLogger(logger: Logger): RequestHandler {
  const middleware = pinoHttp({
    logger,
    wrapSerializers: false,
    genReqId: (req, res) => {
      const id = resolveRequestId(req.headers['x-request-id']);
      res.setHeader('x-request-id', id);
      return id;
    },
    serializers: {
      req: (req: IncomingMessage) => ({
        id: req.id,
        method: req.method,
        url: stripQuery((req as Partial<Request>).originalUrl ?? req.url),
      }),
      err: serializeError,
    },
    autoLogging: { ignore: (req) => QUIET_PATHS.has(stripQuery(req.url)) },
    customLogLevel: (_req, res, error) => {
      if (error !== undefined || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return 'info';
    },
    // Replace pino-http's `res` object (which would serialise response headers) with flat fields.
    customSuccessObject: (req, res, value: { responseTime: number }) => summarizeRequest(req, res, value.responseTime),
    customErrorObject: (req, res, error, value: { responseTime: number }) => ({
      ...summarizeRequest(req, res, value.responseTime),
      err: error,
    }),
    customSuccessMessage: (req, res) => (res.writableEnded ? 'request completed' : 'request aborted'),
    customErrorMessage: () => 'request failed',
  });
  return (req, res, next) => middleware(req, res, next);
}
