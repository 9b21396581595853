import {
  AuthenticationError,
  type GatewayError,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UpstreamClientError,
  UpstreamError,
  UpstreamTimeoutError,
} from '@rgw/errors';
import { redactSecrets } from '@rgw/observability';
import { mapChatBackendError, parseChatBackendError } from '@rgw/responses';

/** The backend's own wording and the Responses code it maps to, whatever error shape it used. */
function readUpstreamError(body: string): { message: string; code: string | null } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    // not JSON (an HTML error page from a proxy, plain text): keep a bounded piece of it
    return { message: body.trim().slice(0, 500), code: null };
  }
  const backendError = parseChatBackendError(json);
  if (!backendError) return { message: body.trim().slice(0, 500), code: null };
  return { message: backendError.message, code: mapChatBackendError(backendError).code };
}

/** Headers worth passing back to our client with a backend error. */
function retryHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ['retry-after', 'retry-after-ms']) {
    const value = headers[name];
    const first = Array.isArray(value) ? value[0] : value;
    // Only plain numbers or HTTP dates: a header value is echoed to our client.
    if (first !== undefined && /^[\w ,:.+-]{1,64}$/.test(first)) kept[name] = first;
  }
  return kept;
}

/**
 * One place that maps a backend's non-2xx answer to our error family. 4xx keep their status and
 * message (a client problem, never a breaker failure); 5xx become 502 and 504 stays 504.
 */
export function mapUpstreamHttpError(status: number, body: string, headers: Readonly<Record<string, string | string[] | undefined>> = {}): GatewayError {
  const upstreamError = readUpstreamError(body);
  const message = redactSecrets(upstreamError.message) || `Backend answered HTTP ${status}.`;
  const extraHeaders = retryHeaders(headers);
  if (upstreamError.code === 'context_length_exceeded' && status < 500) {
    return new InvalidRequestError(message, { code: 'context_length_exceeded', param: 'input' });
  }
  switch (status) {
    case 400:
      return new InvalidRequestError(message);
    case 401:
      return new AuthenticationError(message, { code: 'invalid_api_key' });
    case 403:
      return new PermissionDeniedError(message);
    case 404:
      return new NotFoundError(message, { code: 'model_not_found', param: 'model' });
    case 429:
      return new RateLimitError(message, { code: 'rate_limit_exceeded', headers: extraHeaders });
    case 504:
      return new UpstreamTimeoutError(`Backend timed out: ${message}`, { code: 'upstream_timeout' });
    default:
      if (status >= 400 && status < 500) return new UpstreamClientError(status, message);
      return new UpstreamError(`Backend error (HTTP ${status}): ${message}`, { code: 'upstream_error', headers: extraHeaders });
  }
}
