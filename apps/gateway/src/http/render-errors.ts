import type { ErrorRequestHandler, RequestHandler } from 'express';
import { GatewayError, NotFoundError, toErrorEnvelope } from '@rgw/errors';
import { addLogFields } from './request-context.ts';

/** The one place where a thrown error becomes the OpenAI envelope. */
export function renderErrors(): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const { status, body, headers } = toErrorEnvelope(error);
    addLogFields(res, { error_code: body.error.code ?? body.error.type });
    if (!(error instanceof GatewayError)) req.log?.error({ err: error }, 'unhandled error');
    if (res.headersSent) {
      // A stream already started: the stream writer reports failures in-band; just end.
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.status(status).json(body);
  };
}

export function renderNotFound(): RequestHandler {
  return (req, _res, next) => {
    next(new NotFoundError(`Unknown route: ${req.method} ${req.path}`, { code: 'unknown_route' }));
  };
}
