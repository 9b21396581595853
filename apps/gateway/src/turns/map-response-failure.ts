import { type GatewayError, InvalidRequestError, RateLimitError, ServiceUnavailableError, UpstreamError, UpstreamTimeoutError } from '@rgw/errors';

/** In-band code of a turn ended by the gateway's own shutdown (grace period over). */
export const SHUTTING_DOWN_CODE = 'server_shutting_down';

/**
 * A failure reported in-band (an `error` event, a failed Response) as the HTTP error a client gets
 * when nothing was sent yet: an early stream failure, or a non-streamed answer that failed.
 */
export function mapResponseFailure(code: string | null | undefined, message: string): GatewayError {
  switch (code) {
    case 'context_length_exceeded':
      return new InvalidRequestError(message, { code, param: 'input' });
    case 'rate_limit_exceeded':
      return new RateLimitError(message, { code });
    case 'upstream_timeout':
      return new UpstreamTimeoutError(message, { code });
    case SHUTTING_DOWN_CODE:
    case 'store_unavailable':
      return new ServiceUnavailableError(message, { code, headers: { 'retry-after': '1' } });
    default:
      return new UpstreamError(message, { code: code ?? 'server_error' });
  }
}
