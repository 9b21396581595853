/** What a Chat `finish_reason` means for the Response (responses-api.md §8.4). */
export type FinishOutcome =
  | { readonly status: 'completed' }
  | { readonly status: 'incomplete'; readonly reason: 'max_output_tokens' | 'content_filter' }
  | { readonly status: 'failed' };

/**
 * `null` (a stream that ended after `[DONE]` without one) is read leniently as completed.
 * Unknown strings from non-OpenAI backends (`eos`, `end_turn`, …) also complete; only the
 * explicit `error`/`abort` markers some servers send fail the response.
 */
export function mapChatFinishReason(finishReason: string | null): FinishOutcome {
  switch (finishReason) {
    case 'length':
      return { status: 'incomplete', reason: 'max_output_tokens' };
    case 'content_filter':
      return { status: 'incomplete', reason: 'content_filter' };
    case 'error':
    case 'abort':
      return { status: 'failed' };
    default:
      // stop, tool_calls, function_call, null, and backend-specific end markers.
      return { status: 'completed' };
  }
}
