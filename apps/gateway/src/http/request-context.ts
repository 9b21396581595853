import type { Response as ExpressResponse } from 'express';
import type { RequestLogFields } from '@rgw/observability';

/**
 * What the request carries past authentication, typed once: every handler reads `res.locals.apiKey`,
 * `res.locals.owner` and `res.locals.requestId` as strings, set by `authenticate()` before any route
 * that needs them runs (requests without a key never get that far).
 */
declare global {
  namespace Express {
    interface Locals {
      /** The client's backend key: forwarded, never stored or logged. */
      apiKey: string;
      /** Keyed hash of the API key: whose stored responses these are. */
      owner: string;
      /** The request id (the client's `x-request-id` when well-formed), also sent to the backend. */
      requestId: string;
      /** Fields added to the request's one access-log line. */
      logFields?: RequestLogFields;
    }
  }
}

/** Adds fields to the request's access-log line (model, tokens, ttft, error code…). */
export function addLogFields(res: ExpressResponse, fields: RequestLogFields): void {
  res.locals.logFields = { ...res.locals.logFields, ...fields };
}
