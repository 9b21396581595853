import type { ResponseUsage } from 'openai/resources/responses/responses';
import type { ChatUsage } from './chat-chunk-schema.ts';

/**
 * Chat usage → Responses usage (responses-api.md §8.3). Zeros when the backend sent none (Ollama,
 * or `include_usage` ignored): the Agents SDK and dashboards want numbers, not `null`.
 * `completion_tokens` already includes reasoning tokens, so it maps to `output_tokens` unchanged.
 */
export function mapChatUsage(usage: ChatUsage | null): ResponseUsage {
  const inputTokens = usage?.prompt_tokens ?? 0;
  const outputTokens = usage?.completion_tokens ?? 0;
  return {
    input_tokens: inputTokens,
    input_tokens_details: {
      // DeepSeek reports cache hits as `prompt_cache_hit_tokens`.
      cached_tokens: usage?.prompt_tokens_details?.cached_tokens ?? usage?.prompt_cache_hit_tokens ?? 0,
      // No Chat backend reports cache writes; the field is required by the 2026 schema.
      cache_write_tokens: 0,
    },
    output_tokens: outputTokens,
    // SGLang: top-level `reasoning_tokens` (its completion_tokens_details holds speculative-decoding counts).
    output_tokens_details: { reasoning_tokens: usage?.completion_tokens_details?.reasoning_tokens ?? usage?.reasoning_tokens ?? 0 },
    total_tokens: usage?.total_tokens ?? inputTokens + outputTokens,
  };
}
