/** A backend failure the upstream layer reports as a value, with the Responses error code clients act on. */
export interface UpstreamStreamError {
  readonly message: string;
  /** A Responses error code clients understand: server_error, context_length_exceeded, rate_limit_exceeded, ... */
  readonly code: string;
}
