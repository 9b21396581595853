import type { RequestHandler } from 'express';
import { AuthenticationError } from '@rgw/errors';
import './request-context.ts';

/** The client's key, from `Authorization: Bearer K` or `x-api-key: K`. It is forwarded, never stored or logged. */
export function readApiKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | null {
  const authorization = headers['authorization'];
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) return match[1];
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim() !== '') return apiKey.trim();
  return null;
}

/**
 * Refuses a request without a key (401 before its body is read) and sets the request context:
 * `res.locals.apiKey`, `owner` (the keyed hash stored responses are filed under) and `requestId`.
 */
export function authenticate(ownerOf: (apiKey: string) => string): RequestHandler {
  return (req, res, next) => {
    const apiKey = readApiKey(req.headers);
    if (!apiKey) {
      // Drain the body so the client reads the 401 instead of a reset.
      req.resume();
      throw new AuthenticationError(
        "You didn't provide an API key. Provide it in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY) or in an x-api-key header.",
        { code: 'missing_api_key' },
      );
    }
    res.locals.apiKey = apiKey;
    res.locals.owner = ownerOf(apiKey);
    // createHttpLogger sets req.id to a string; pino-http types it as string | number | object.
    res.locals.requestId = typeof req.id === 'object' ? JSON.stringify(req.id) : String(req.id);
    next();
  };
}
