import { randomUUID } from 'node:crypto';

/** What we accept as a client-supplied `x-request-id`: safe to echo in a header and to log. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The request id for one request: the client's `x-request-id` when it is well-formed, else a new UUID.
 * A malformed one (CR/LF, spaces, over 128 chars) is replaced, never echoed: Node throws on CR/LF in a
 * header value, and logs must not be spoofable.
 */
export function resolveRequestId(incoming: string | readonly string[] | undefined): string {
  // Not Array.isArray: it narrows a readonly string[] to any[].
  const candidate = typeof incoming === 'object' ? incoming[0] : incoming;
  return typeof candidate === 'string' && REQUEST_ID_PATTERN.test(candidate) ? candidate : randomUUID();
}
