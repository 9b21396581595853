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
