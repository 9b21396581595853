import type { UpstreamStreamError } from './upstream-stream-error.ts';

/** What every backend error shape is normalised to (chat-chunk-schema.ts parses them). */
export interface BackendErrorFields {
  readonly message: string;
  readonly code: string | null;
  readonly type?: string | null | undefined;
}

/**
 * Maps a backend error onto a Responses `error.code` that clients act on (responses-api.md §6):
 * Codex treats `context_length_exceeded` and `insufficient_quota` as fatal, retries
 * `rate_limit_exceeded` after the delay in the message, and retries anything else as `server_error`.
 * Backends word these differently (vLLM: "This model's maximum context length is 4096 tokens";
 * SGLang: "… is longer than the model's context length"), so the message is matched too.
 */
export function mapChatBackendError(error: BackendErrorFields): UpstreamStreamError {
  const haystack = `${error.code ?? ''} ${error.type ?? ''} ${error.message}`.toLowerCase();
  return { message: error.message, code: pickCode(haystack, error.code) };
}

function pickCode(haystack: string, code: string | null): string {
  if (code === 'context_length_exceeded' || /context length|context window|maximum context|too many tokens/.test(haystack)) {
    return 'context_length_exceeded';
  }
  if (code === 'insufficient_quota' || haystack.includes('insufficient_quota')) return 'insufficient_quota';
  if (code === '429' || /rate.?limit|too many requests/.test(haystack)) return 'rate_limit_exceeded';
  return 'server_error';
}
