import { type GatewayError, InvalidRequestError, RateLimitError, ServiceUnavailableError, UpstreamError, UpstreamTimeoutError } from '@rgw/errors';

/** A failure the converter reported in-band, turned back into an HTTP error (nothing was sent yet). */
export function mapResponseFailure(code: string | null | undefined, message: string): GatewayError {
  switch (code) {
    case 'context_length_exceeded':
      return new InvalidRequestError(message, { code, param: 'input' });
    case 'rate_limit_exceeded':
      return new RateLimitError(message, { code });
    case 'upstream_timeout':
      return new UpstreamTimeoutError(message, { code });
    // The answer could not be stored (a store:true request): the client may retry.
    case 'store_unavailable':
      return new ServiceUnavailableError(message, { code, headers: { 'retry-after': '1' } });
    default:
      return new UpstreamError(message, { code: code ?? 'server_error' });
  }
}

/** In-band failure codes that are the client's doing, not the backend's: they never move the breaker. */
export function isClientCausedFailure(code: string | null | undefined): boolean {
  return code === 'context_length_exceeded' || code === 'rate_limit_exceeded' || code === 'invalid_prompt';
}
