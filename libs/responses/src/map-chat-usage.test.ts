import { describe, expect, it } from 'vitest';
import { mapChatFinishReason } from './map-chat-finish-reason.ts';
import { mapChatUsage } from './map-chat-usage.ts';

describe('mapChatUsage', () => {
  it('sums input and output when the backend omits total_tokens', () => {
    expect(mapChatUsage({ prompt_tokens: 10, completion_tokens: 5 }).total_tokens).toBe(15);
  });

  it('prefers prompt_tokens_details.cached_tokens over DeepSeek prompt_cache_hit_tokens', () => {
    expect(
      mapChatUsage({ prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 4 }, prompt_cache_hit_tokens: 9 }).input_tokens_details.cached_tokens,
    ).toBe(4);
    expect(mapChatUsage({ prompt_tokens: 10, prompt_cache_hit_tokens: 9 }).input_tokens_details.cached_tokens).toBe(9);
  });

  it("reads SGLang's top-level reasoning_tokens (its completion_tokens_details carries speculative-decoding counts)", () => {
    // SGLang's UsageInfo fields (python/sglang/srt/entrypoints/openai/protocol.py); the counts are ours.
    const sglang = { prompt_tokens: 484, total_tokens: 610, completion_tokens: 126, prompt_tokens_details: null, reasoning_tokens: 57 };
    expect(mapChatUsage(sglang).output_tokens_details.reasoning_tokens).toBe(57);
    // OpenAI's field wins when both are there.
    expect(mapChatUsage({ ...sglang, completion_tokens_details: { reasoning_tokens: 12 } }).output_tokens_details.reasoning_tokens).toBe(12);
  });

  it("reads vLLM's prompt_tokens_details.cached_tokens (sent with --enable-prompt-tokens-details)", () => {
    // vLLM's UsageInfo / PromptTokenUsageInfo (vllm/entrypoints/openai/engine/protocol.py); the counts are ours.
    expect(mapChatUsage({ prompt_tokens: 247, total_tokens: 475, completion_tokens: 228, prompt_tokens_details: { cached_tokens: 224 } })).toMatchObject({
      input_tokens: 247,
      input_tokens_details: { cached_tokens: 224 },
      output_tokens: 228,
      total_tokens: 475,
    });
  });
});

describe('mapChatFinishReason', () => {
  it.each([
    ['stop', { status: 'completed' }],
    ['tool_calls', { status: 'completed' }],
    ['function_call', { status: 'completed' }],
    [null, { status: 'completed' }],
    ['eos', { status: 'completed' }],
    ['length', { status: 'incomplete', reason: 'max_output_tokens' }],
    ['content_filter', { status: 'incomplete', reason: 'content_filter' }],
    ['error', { status: 'failed' }],
    ['abort', { status: 'failed' }],
  ] as const)('maps %s to %o', (finishReason, outcome) => {
    expect(mapChatFinishReason(finishReason)).toEqual(outcome);
  });
});
