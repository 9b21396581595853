import { type GatewayError, UpstreamError, UpstreamTimeoutError } from '@rgw/errors';

export type TransportFailureKind = 'timeout' | 'connection' | 'aborted';

/** undici error codes and Node socket errors → one failure kind. */
export function classifyTransportError(error: unknown): TransportFailureKind {
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return 'aborted';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return 'timeout';
  }
  return 'connection';
}

export function mapUpstreamTransportError(error: unknown): GatewayError {
  const kind = classifyTransportError(error);
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' ? ` (${code})` : '';
  if (kind === 'timeout') {
    return new UpstreamTimeoutError(`The backend did not answer in time${detail}.`, { code: 'upstream_timeout', cause: error });
  }
  return new UpstreamError(`Could not reach the backend${detail}.`, { code: 'upstream_connection_error', cause: error });
}
