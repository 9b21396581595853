import { describe, expect, it } from 'vitest';
import { APIError } from 'openai';
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { convertChatEventsToResponsesEvents } from './create-response-event-converter.ts';
import { assertValidResponsesEventSequence } from './test-support/assert-valid-responses-event-sequence.ts';
import { createTestContext, type TestContextOptions } from './test-support/create-test-context.ts';
import { readdirSync } from 'node:fs';
import { GENERIC_BACKEND_PROFILE } from './backend-profile.ts';
import { parseChatCompletion } from './chat-chunk-schema.ts';
import { convertChatCompletionToStreamEvents } from './convert-chat-completion-to-stream-events.ts';
import { loadChunkFixture, readFixtureHeader } from './test-support/load-chunk-fixture.ts';
import { replayThroughOpenAiSdk } from './test-support/replay-through-openai-sdk.ts';

async function replayFixture(name: string, options: TestContextOptions = {}): Promise<{ events: ResponseStreamEvent[]; response: Response }> {
  const events = convertChatEventsToResponsesEvents(loadChunkFixture(name), createTestContext(options));
  return { events, response: assertValidResponsesEventSequence(events) };
}

function typesOf(events: readonly ResponseStreamEvent[]): string[] {
  return events.map((event) => event.type);
}

function deltasOf(events: readonly ResponseStreamEvent[], type: string): string {
  return events.map((event) => (event.type === type && 'delta' in event && typeof event.delta === 'string' ? event.delta : '')).join('');
}

const succeeding = [
  'sglang-reasoning-content',
  'vllm-reasoning-field',
  'vllm-parallel-tool-calls',
  'sglang-text-then-tool-call',
  'chutes-usage-empty-choices',
  'deepseek-prompt-cache-usage',
  'vllm-length-stop',
  'chutes-content-filter',
  'chutes-multibyte-text',
  'ollama-no-usage',
  'ollama-parallel-calls-at-index-zero',
  'ollama-calls-without-index',
  'sglang-qwen25-parallel-tool-calls',
  'vllm-qwen3-inline-think',
  'vllm-qwen3-inline-think-split-tags',
];

const fixtureNames = readdirSync(new URL('./__fixtures__/', import.meta.url))
  .filter((file) => file.endsWith('.chunks.txt'))
  .map((file) => file.replace(/\.chunks\.txt$/, ''));

describe('backend stream fixtures', () => {
  it.each(fixtureNames)('%s says what it is: hand-written, or transcribed/derived with its source named', (name) => {
    // Hand-written files say so; transcribed and derived ones name their source.
    expect(readFixtureHeader(name).join('\n')).toMatch(/^# (Hand-written, not recorded|(Transcribed|Derived) from[\s\S]*\n# Source: \S+)/);
  });
});

describe('replaying backend stream fixtures (hand-written and transcribed; each file header says which)', () => {
  it.each(succeeding)('%s is accepted by the openai SDK stream accumulator, which returns our terminal response', async (name) => {
    const { events, response } = await replayFixture(name, { request: { reasoning: { summary: 'auto' } } });
    const replayed = await replayThroughOpenAiSdk(events);
    expect(replayed.response.id).toBe(response.id);
    expect(replayed.response.status).toBe(response.status);
    // The SDK adds its own `parsed: null` to text parts; everything we sent must be there unchanged.
    expect(replayed.response.output).toMatchObject(response.output);
    expect(replayed.events).toHaveLength(events.length);
  });

  it.each(['sglang-error-mid-stream', 'vllm-cut-without-done'])('%s makes the openai SDK throw an APIError carrying our error', async (name) => {
    const { events, response } = await replayFixture(name);
    expect(response.status).toBe('failed');
    const failure = await replayThroughOpenAiSdk(events).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).message).toBe(response.error?.message);
  });

  it('streams SGLang reasoning_content as a reasoning item before the answer message', async () => {
    const { events, response } = await replayFixture('sglang-reasoning-content');
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(response.output[0]).toMatchObject({
      type: 'reasoning',
      summary: [],
      content: [{ type: 'reasoning_text', text: 'The user asks for 2+2. That is 4.' }],
      status: 'completed',
    });
    expect(response.output[1]).toMatchObject({ content: [{ type: 'output_text', text: '\n\n2 + 2 = **4**.' }] });
    expect(deltasOf(events, 'response.reasoning_text.delta')).toBe('The user asks for 2+2. That is 4.');
    // Without reasoning.summary in the request, no summary events are sent.
    expect(typesOf(events).filter((type) => type.startsWith('response.reasoning_summary'))).toEqual([]);
    expect(response.usage).toEqual({
      input_tokens: 14,
      input_tokens_details: { cached_tokens: 8, cache_write_tokens: 0 },
      output_tokens: 39,
      output_tokens_details: { reasoning_tokens: 21 },
      total_tokens: 53,
    });
  });

  it('reads vLLM delta.reasoning and does not double text a chunk also carries as reasoning_content', async () => {
    const { response } = await replayFixture('vllm-reasoning-field');
    expect(response.output[0]).toMatchObject({ content: [{ type: 'reasoning_text', text: 'Okay, the user wants a haiku about rain.' }] });
    expect(response.output[1]).toMatchObject({
      content: [{ type: 'output_text', text: 'Soft rain on the roof\nwhispers to the sleeping town\ndawn comes washed and new' }],
    });
  });

  it('also streams reasoning as summary part 0 when the request asks for a summary, as Codex does', async () => {
    const { events, response } = await replayFixture('vllm-reasoning-field', { request: { reasoning: { effort: 'medium', summary: 'auto' } } });
    expect(typesOf(events).slice(2, 5)).toEqual(['response.output_item.added', 'response.reasoning_summary_part.added', 'response.content_part.added']);
    expect(deltasOf(events, 'response.reasoning_summary_text.delta')).toBe('Okay, the user wants a haiku about rain.');
    expect(response.output[0]).toMatchObject({ summary: [{ type: 'summary_text', text: 'Okay, the user wants a haiku about rain.' }] });
  });

  it('emits interleaved parallel tool calls one after the other with their complete arguments', async () => {
    const { events, response } = await replayFixture('vllm-parallel-tool-calls');
    expect(response.output).toEqual([
      {
        type: 'function_call',
        id: 'fc_1',
        call_id: 'chatcmpl-tool-6f0e2d9c1b8a4e3f',
        name: 'get_weather',
        arguments: '{"city": "Paris", "unit": "celsius"}',
        status: 'completed',
      },
      {
        type: 'function_call',
        id: 'fc_2',
        call_id: 'chatcmpl-tool-0a1b2c3d4e5f6a7b',
        name: 'get_time',
        arguments: '{"timezone": "Asia/Tokyo"}',
        status: 'completed',
      },
    ]);
    const argumentsDone = events.filter((event) => event.type === 'response.function_call_arguments.done');
    expect(argumentsDone.map((event) => ({ ...event }))).toMatchObject([{ name: 'get_weather' }, { name: 'get_time' }]);
  });

  it('treats a tool call answered with finish_reason "stop" as a completed tool call after the message', async () => {
    const { events, response } = await replayFixture('sglang-text-then-tool-call');
    expect(response.status).toBe('completed');
    expect(response.output.map((item) => item.type)).toEqual(['message', 'function_call']);
    expect(response.output[1]).toMatchObject({ call_id: 'call_8d1f4c2b7e', arguments: '{"city": "Berlin"}' });
    // The call streamed live: its arguments arrived as they were generated.
    expect(events.filter((event) => event.type === 'response.function_call_arguments.delta')).toHaveLength(2);
  });

  it('maps cached prompt tokens from prompt_tokens_details and from DeepSeek prompt_cache_hit_tokens', async () => {
    expect((await replayFixture('chutes-usage-empty-choices')).response.usage).toMatchObject({
      input_tokens: 1024,
      input_tokens_details: { cached_tokens: 768 },
      output_tokens: 7,
      total_tokens: 1031,
    });
    expect((await replayFixture('deepseek-prompt-cache-usage')).response.usage).toMatchObject({
      input_tokens: 640,
      input_tokens_details: { cached_tokens: 512 },
      output_tokens_details: { reasoning_tokens: 4 },
    });
  });

  it('answers a length stop with response.incomplete, reason max_output_tokens, and an incomplete message', async () => {
    const { events, response } = await replayFixture('vllm-length-stop');
    expect(events.at(-1)?.type).toBe('response.incomplete');
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, completed_at: null });
    expect(response.output[0]).toMatchObject({ status: 'incomplete', content: [{ text: 'Once upon a time, in a land far' }] });
  });

  it('answers a content_filter stop with response.incomplete, reason content_filter', async () => {
    const { response } = await replayFixture('chutes-content-filter');
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } });
  });

  it('passes CJK, emoji, ZWJ sequences and a surrogate pair split across deltas through intact', async () => {
    const { events, response } = await replayFixture('chutes-multibyte-text');
    const expected = '你好，世界！ 😀🚀 👨‍👩‍👧 café Ünïcödé 日本語のテキスト';
    expect(deltasOf(events, 'response.output_text.delta')).toBe(expected);
    expect(response.output[0]).toMatchObject({ content: [{ text: expected }] });
    expect(JSON.parse(JSON.stringify(response))).toEqual(response);
  });

  it('completes an Ollama stream without usage with zero usage counts', async () => {
    const { response } = await replayFixture('ollama-no-usage');
    expect(response.output[0]).toMatchObject({ content: [{ text: 'The sky is blue.' }] });
    expect(response.usage).toEqual({
      input_tokens: 0,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 0,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 0,
    });
  });

  it('turns an error payload mid-stream into a nested error event and response.failed with the mapped code', async () => {
    const { events, response } = await replayFixture('sglang-error-mid-stream');
    expect(typesOf(events).slice(-3)).toEqual(['response.output_item.done', 'error', 'response.failed']);
    expect(events.at(-2)).toMatchObject({
      type: 'error',
      error: { type: 'server_error', code: 'context_length_exceeded', param: null, message: expect.stringContaining('context length') as unknown },
    });
    expect(response.error).toMatchObject({ code: 'context_length_exceeded' });
    expect(response.output[0]).toMatchObject({ status: 'incomplete', content: [{ text: 'The answer is' }] });
  });

  it('fails a stream cut without [DONE] or finish_reason and closes the open message as incomplete', async () => {
    const { events, response } = await replayFixture('vllm-cut-without-done');
    expect(typesOf(events).filter((type) => type === 'error')).toHaveLength(1);
    expect(response).toMatchObject({ status: 'failed', error: { code: 'server_error' }, completed_at: null });
    expect(response.output.map((item) => [item.type, 'status' in item ? item.status : null])).toEqual([
      ['reasoning', 'completed'],
      ['message', 'incomplete'],
    ]);
  });

  it('keeps Ollama parallel calls that all arrive at index 0 apart by their ids', async () => {
    const { response } = await replayFixture('ollama-parallel-calls-at-index-zero');
    expect(response.output).toEqual([
      { type: 'function_call', id: 'fc_1', call_id: 'call_abc123', name: 'get_weather', arguments: '{"location":"Seattle"}', status: 'completed' },
      { type: 'function_call', id: 'fc_2', call_id: 'call_def456', name: 'get_time', arguments: '{"timezone":"UTC"}', status: 'completed' },
    ]);
    expect(response.usage).toMatchObject({ input_tokens: 3, output_tokens: 2, total_tokens: 5 });
  });

  it('keeps calls apart when an older Ollama sends them without index, each whole, and finishes with "stop"', async () => {
    const { response } = await replayFixture('ollama-calls-without-index');
    expect(response.status).toBe('completed');
    expect(response.output.map((item) => (item.type === 'function_call' ? [item.call_id, item.arguments] : item.type))).toEqual([
      ['call_abc123', '{"location":"Seattle"}'],
      ['call_def456', '{"timezone":"UTC"}'],
    ]);
  });

  it('streams the text and both parallel calls of the SGLang tool-parser example', async () => {
    const { response } = await replayFixture('sglang-qwen25-parallel-tool-calls');
    expect(response.output.map((item) => item.type)).toEqual(['message', 'function_call', 'function_call']);
    expect(response.output.slice(1)).toMatchObject([
      { call_id: 'call_f8a238e465c242cc9ee93dc5', arguments: '{"city": "Boston", "state": "MA", "unit": "celsius"}' },
      { call_id: 'call_9087369d81254801b389ae11', arguments: '{"city": "Boston", "state": "MA", "unit": "fahrenheit"}' },
    ]);
  });

  it.each(['vllm-qwen3-inline-think', 'vllm-qwen3-inline-think-split-tags'])(
    '%s: inline <think> becomes the reasoning item, and no piece of a tag reaches the answer text',
    async (name) => {
      const { events, response } = await replayFixture(name);
      expect(response.output).toMatchObject([
        { type: 'reasoning', content: [{ type: 'reasoning_text', text: 'This is a reasoning section' }], status: 'completed' },
        { type: 'message', content: [{ type: 'output_text', text: 'This is the rest' }] },
      ]);
      const streamed = deltasOf(events, 'response.output_text.delta') + deltasOf(events, 'response.reasoning_text.delta');
      expect(streamed).not.toMatch(/[<>]/);
    },
  );

  it('releases held text when the stream ends: an unclosed block stays reasoning, an undecided prefix becomes text', () => {
    const content = (text: string) => ({ type: 'chunk' as const, chunk: { choices: [{ index: 0, delta: { content: text } }] } });
    const stop = { type: 'chunk' as const, chunk: { choices: [{ index: 0, delta: {}, finish_reason: 'length' }] } };
    const cut = convertChatEventsToResponsesEvents([content('<think>I was about to</th'), stop, { type: 'done' }], createTestContext());
    expect(assertValidResponsesEventSequence(cut).output).toMatchObject([
      { type: 'reasoning', content: [{ text: 'I was about to</th' }], status: 'incomplete' },
    ]);
    const undecided = convertChatEventsToResponsesEvents([content('<thi'), { type: 'done' }], createTestContext());
    expect(assertValidResponsesEventSequence(undecided).output).toMatchObject([{ type: 'message', content: [{ text: '<thi' }] }]);
  });

  it('keeps held text in the output of a stream that fails', () => {
    const content = { type: 'chunk' as const, chunk: { choices: [{ index: 0, delta: { content: '<think>Half a thought</' } }] } };
    const failed = convertChatEventsToResponsesEvents([content, { type: 'error', error: { code: 'server_error', message: 'gone' } }], createTestContext());
    expect(assertValidResponsesEventSequence(failed)).toMatchObject({
      status: 'failed',
      output: [{ type: 'reasoning', content: [{ text: 'Half a thought</' }] }],
    });
  });

  it('leaves inline <think> text alone for a profile that turns the splitting off', async () => {
    const { response } = await replayFixture('vllm-qwen3-inline-think-split-tags', { backendProfile: { ...GENERIC_BACKEND_PROFILE, inlineThinkTags: false } });
    expect(response.output).toMatchObject([{ type: 'message', content: [{ text: '<think>This is a reasoning section</think>This is the rest' }] }]);
  });

  it('splits inline <think> in a non-streamed answer too (the JSON path runs the same step)', () => {
    // vLLM's Qwen3 parser test output (tests/reasoning/test_qwen3_reasoning_parser.py, WITH_THINK) as the
    // message of the Qwen/Qwen3-8B answer quoted in vllm-project/vllm PR #20662.
    const completion = parseChatCompletion({
      id: 'chatcmpl-4e05fee0c73c4811ba8c7f21939c06c8',
      object: 'chat.completion',
      created: 1752032478,
      model: 'Qwen/Qwen3-8B',
      choices: [{ index: 0, message: { role: 'assistant', content: '<think>This is a reasoning section</think>This is the rest' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 247, completion_tokens: 228, total_tokens: 475 },
    });
    if (completion === null) throw new Error('the completion did not parse');
    const events = convertChatEventsToResponsesEvents(convertChatCompletionToStreamEvents(completion), createTestContext());
    expect(assertValidResponsesEventSequence(events).output).toMatchObject([
      { type: 'reasoning', content: [{ text: 'This is a reasoning section' }] },
      { type: 'message', content: [{ text: 'This is the rest' }] },
    ]);
  });

  it('keeps apart the calls of a non-streamed SGLang answer that puts every call at index 0', () => {
    // The non-streamed answer of SGLang's tool-parser docs (see sglang-qwen25-parallel-tool-calls for the source):
    // both calls carry index=0. The page prints no envelope, so only the message is transcribed.
    const completion = parseChatCompletion({
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content:
              "To provide you with the current weather in Boston, I will use the `get_current_weather` function. This function requires the city name, state abbreviation, and the temperature unit you prefer. For Boston, the state is Massachusetts, which has the abbreviation 'MA'. You didn't specify a unit preference, so I'll provide both Celsius and Fahrenheit for completeness.\n\nLet's proceed with fetching this information.",
            tool_calls: [
              {
                id: 'call_3357dea09bd44120805303fc',
                type: 'function',
                index: 0,
                function: { name: 'get_current_weather', arguments: '{"city": "Boston", "state": "MA", "unit": "celsius"}' },
              },
              {
                id: 'call_c6a48f58af234b1e8af74e42',
                type: 'function',
                index: 0,
                function: { name: 'get_current_weather', arguments: '{"city": "Boston", "state": "MA", "unit": "fahrenheit"}' },
              },
            ],
            reasoning_content: null,
          },
          finish_reason: 'tool_calls',
        },
      ],
    });
    if (completion === null) throw new Error('the completion did not parse');
    const events = convertChatEventsToResponsesEvents(convertChatCompletionToStreamEvents(completion), createTestContext());
    expect(assertValidResponsesEventSequence(events).output.slice(1)).toMatchObject([
      { type: 'function_call', call_id: 'call_3357dea09bd44120805303fc', arguments: '{"city": "Boston", "state": "MA", "unit": "celsius"}' },
      { type: 'function_call', call_id: 'call_c6a48f58af234b1e8af74e42', arguments: '{"city": "Boston", "state": "MA", "unit": "fahrenheit"}' },
    ]);
  });
});
