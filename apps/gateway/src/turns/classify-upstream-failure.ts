import { GatewayError } from '@rgw/errors';

export type UpstreamFailureKind = 'http_4xx' | 'http_5xx' | 'timeout' | 'connection' | 'stream_cut' | 'malformed';

/** The `kind` label of gateway_upstream_errors_total for an error the upstream client threw. */
export function classifyUpstreamFailure(error: unknown): UpstreamFailureKind | null {
  if (!(error instanceof GatewayError)) return null;
  if (error.status === 504) return 'timeout';
  if (error.code === 'upstream_connection_error') return 'connection';
  if (error.code === 'upstream_malformed_response') return 'malformed';
  if (error.status >= 500) return 'http_5xx';
  return 'http_4xx';
}
