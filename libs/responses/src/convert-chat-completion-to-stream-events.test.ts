import { describe, expect, it } from 'vitest';
import { parseChatCompletion } from './chat-chunk-schema.ts';
import { convertChatCompletionToStreamEvents } from './convert-chat-completion-to-stream-events.ts';
import type { ChatStreamEvent } from './converter-contract.ts';
import { convertChatEventsToResponsesEvents } from './create-response-event-converter.ts';
import { assertValidResponsesEventSequence } from './test-support/assert-valid-responses-event-sequence.ts';
import { createTestContext } from './test-support/create-test-context.ts';

const completion = parseChatCompletion({
  id: 'chatcmpl-abc',
  object: 'chat.completion',
  created: 1769000000,
  model: 'deepseek-ai/DeepSeek-R1',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        reasoning_content: 'Need the weather first.',
        content: 'Checking.',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 50, completion_tokens: 30, total_tokens: 80, completion_tokens_details: { reasoning_tokens: 6 } },
});

describe('convertChatCompletionToStreamEvents', () => {
  it('yields the same Response through the stream machine: reasoning, message, then calls in order', async () => {
    if (completion === null) throw new Error('fixture did not parse');
    const events = convertChatEventsToResponsesEvents(convertChatCompletionToStreamEvents(completion), createTestContext());
    const response = assertValidResponsesEventSequence(events);
    expect(response.status).toBe('completed');
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message', 'function_call', 'function_call']);
    expect(response.output.slice(2)).toMatchObject([
      { call_id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { call_id: 'call_b', name: 'get_time', arguments: '{}' },
    ]);
    expect(response.usage).toMatchObject({ input_tokens: 50, output_tokens: 30, total_tokens: 80, output_tokens_details: { reasoning_tokens: 6 } });
  });

  it('gives the same Response as the same answer streamed in fragments (JSON and SSE clients agree)', () => {
    if (completion === null) throw new Error('fixture did not parse');
    const fragment = (delta: Record<string, unknown>, finishReason: string | null = null): ChatStreamEvent => ({
      type: 'chunk',
      chunk: { id: 'chatcmpl-abc', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] },
    });
    const streamed: ChatStreamEvent[] = [
      fragment({ role: 'assistant', content: '' }),
      fragment({ reasoning_content: 'Need the weather ' }),
      fragment({ reasoning_content: 'first.' }),
      fragment({ content: 'Check' }),
      fragment({ content: 'ing.' }),
      fragment({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] }),
      fragment({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
      fragment({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }, 'tool_calls'),
      {
        type: 'chunk',
        chunk: {
          id: 'chatcmpl-abc',
          choices: [],
          usage: { prompt_tokens: 50, completion_tokens: 30, total_tokens: 80, completion_tokens_details: { reasoning_tokens: 6 } },
        },
      },
      { type: 'done' },
    ];
    const whole = convertChatEventsToResponsesEvents(convertChatCompletionToStreamEvents(completion), createTestContext());
    const inFragments = convertChatEventsToResponsesEvents(streamed, createTestContext());
    expect(whole.at(-1)).toMatchObject({ type: 'response.completed', response: { id: 'resp_test', status: 'completed', completed_at: 1769100005 } });
    expect(whole.at(-1)).toEqual({ ...inFragments.at(-1), sequence_number: whole.length - 1 });
  });

  it('ends with [DONE] even for a completion without choices or usage', () => {
    expect(convertChatCompletionToStreamEvents({ id: 'x', choices: [] })).toEqual([{ type: 'done' }]);
  });
});
