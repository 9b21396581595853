import { describe, expect, it } from 'vitest';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { ChatCompletionChunk } from './chat-chunk-schema.ts';
import type { ChatStreamEvent } from './converter-contract.ts';
import { convertChatEventsToResponsesEvents, createResponseEventConverter } from './create-response-event-converter.ts';
import { assertValidResponsesEventSequence } from './test-support/assert-valid-responses-event-sequence.ts';
import { createTestContext, type TestContextOptions } from './test-support/create-test-context.ts';
import { replayThroughOpenAiSdk } from './test-support/replay-through-openai-sdk.ts';

type Delta = NonNullable<NonNullable<ChatCompletionChunk['choices']>[number]['delta']>;

function chunk(delta: Delta, finishReason: string | null = null, extra: Partial<ChatCompletionChunk> = {}): ChatStreamEvent {
  return {
    type: 'chunk',
    chunk: { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra },
  };
}

const done: ChatStreamEvent = { type: 'done' };

async function convert(input: readonly ChatStreamEvent[], options: TestContextOptions = {}): Promise<ResponseStreamEvent[]> {
  return convertChatEventsToResponsesEvents(input, createTestContext(options));
}

async function convertValid(input: readonly ChatStreamEvent[], options: TestContextOptions = {}) {
  const events = await convert(input, options);
  const response = assertValidResponsesEventSequence(events);
  await replayThroughOpenAiSdk(events);
  return { events, response };
}

describe('createResponseEventConverter', () => {
  it('opens with response.created and response.in_progress echoing the request, null where unset', async () => {
    const events = await convert([done], {
      request: {
        instructions: 'Be brief.',
        temperature: 0.2,
        metadata: { ticket: '42' },
        store: false,
        tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } }],
      },
    });
    expect(events.slice(0, 2).map((event) => [event.type, event.sequence_number])).toEqual([
      ['response.created', 0],
      ['response.in_progress', 1],
    ]);
    const created = events[0];
    expect(created?.type === 'response.created' && created.response).toMatchObject({
      id: 'resp_test',
      object: 'response',
      created_at: 1769100000,
      status: 'in_progress',
      model: 'test-model',
      output: [],
      usage: null,
      instructions: 'Be brief.',
      temperature: 0.2,
      top_p: 1,
      max_output_tokens: null,
      previous_response_id: null,
      reasoning: null,
      store: false,
      background: false,
      metadata: { ticket: '42' },
      tool_choice: 'auto',
      parallel_tool_calls: true,
      text: { format: { type: 'text' } },
      tools: [{ type: 'function', name: 'get_weather', strict: true }],
    });
  });

  it('opens no item for the role-only first chunk, so reasoning that follows comes first', async () => {
    const { response } = await convertValid([
      chunk({ role: 'assistant', content: '' }),
      chunk({ reasoning_content: 'think' }),
      chunk({ content: 'answer' }, 'stop'),
      done,
    ]);
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
  });

  it('completes an empty answer with no output items', async () => {
    const { response } = await convertValid([chunk({ role: 'assistant', content: '' }, 'stop'), done]);
    expect(response).toMatchObject({ status: 'completed', output: [], completed_at: 1769100005 });
  });

  it('reads reasoning given as an object with text or content', async () => {
    const { response } = await convertValid([
      chunk({ reasoning: { text: 'a' } }),
      chunk({ reasoning: { content: 'b' } }),
      chunk({ content: 'c' }, 'stop'),
      done,
    ]);
    expect(response.output[0]).toMatchObject({ content: [{ text: 'ab' }] });
  });

  it('seals the full reasoning text into encrypted_content when the context can seal', async () => {
    const { response } = await convertValid([chunk({ reasoning_content: 'step 1, ' }), chunk({ reasoning_content: 'step 2' }), done], {
      sealReasoning: (text) => `sealed:${text}`,
    });
    expect(response.output[0]).toMatchObject({ type: 'reasoning', encrypted_content: 'sealed:step 1, step 2' });
  });

  it('sends refusal deltas as a refusal part and switches parts when text follows', async () => {
    const { events, response } = await convertValid([
      chunk({ refusal: "I can't " }),
      chunk({ refusal: 'help.' }),
      chunk({ content: 'But here is why.' }, 'stop'),
      done,
    ]);
    expect(response.output[0]).toMatchObject({
      type: 'message',
      content: [
        { type: 'refusal', refusal: "I can't help." },
        { type: 'output_text', text: 'But here is why.' },
      ],
    });
    expect(events.filter((event) => event.type === 'response.refusal.done')).toHaveLength(1);
  });

  it('maps chat logprobs onto the text deltas and the final part', async () => {
    const logprobs = { content: [{ token: 'Hi', logprob: -0.1, bytes: [72, 105], top_logprobs: [{ token: 'Hi', logprob: -0.1, bytes: [72, 105] }] }] };
    const events = await convert([{ type: 'chunk', chunk: { choices: [{ index: 0, delta: { content: 'Hi' }, logprobs, finish_reason: 'stop' }] } }, done]);
    const delta = events.find((event) => event.type === 'response.output_text.delta');
    expect(delta).toMatchObject({ logprobs: [{ token: 'Hi', logprob: -0.1, top_logprobs: [{ token: 'Hi', logprob: -0.1 }] }] });
    const response = assertValidResponsesEventSequence(events);
    expect(response.output[0]).toMatchObject({ content: [{ logprobs: [{ token: 'Hi', bytes: [72, 105] }] }] });
  });

  it('restores namespaced tool names and generates a call_id when the backend sent none', async () => {
    const { response } = await convertValid(
      [chunk({ tool_calls: [{ index: 0, function: { name: 'crm__find_customer', arguments: '{"q":"acme"}' } }] }, 'tool_calls'), done],
      { toolNames: { crm__find_customer: { kind: 'function', name: 'find_customer', namespace: 'crm' } } },
    );
    expect(response.output).toEqual([
      { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'find_customer', namespace: 'crm', arguments: '{"q":"acme"}', status: 'completed' },
    ]);
  });

  it('turns an emulated custom tool call into a custom_tool_call with the unwrapped input', async () => {
    const { events, response } = await convertValid(
      [
        chunk({ tool_calls: [{ index: 0, id: 'call_p', function: { name: 'apply_patch', arguments: '{"input": "*** Begin' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: ' Patch\\n"}' } }] }, 'tool_calls'),
        done,
      ],
      { toolNames: { apply_patch: { kind: 'custom', name: 'apply_patch' } } },
    );
    expect(response.output).toEqual([
      { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_p', name: 'apply_patch', input: '*** Begin Patch\n', status: 'completed' },
    ]);
    expect(events.map((event) => event.type)).toContain('response.custom_tool_call_input.done');
    expect(events.map((event) => event.type)).not.toContain('response.function_call_arguments.delta');
  });

  it('keeps the raw arguments as custom tool input when they are not the {input} wrapper', async () => {
    const { response } = await convertValid([chunk({ tool_calls: [{ index: 0, function: { name: 'shell', arguments: 'ls -la' } }] }, 'stop'), done], {
      toolNames: { shell: { kind: 'custom', name: 'shell' } },
    });
    expect(response.output[0]).toMatchObject({ type: 'custom_tool_call', input: 'ls -la' });
  });

  it('sends "{}" for a call without arguments and keeps call_ids unique when a backend repeats them', async () => {
    const { response } = await convertValid([
      chunk({ tool_calls: [{ index: 0, id: 'call_0', function: { name: 'now', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_0', function: { name: 'now', arguments: '' } }] }, 'tool_calls'),
      done,
    ]);
    expect(response.output.map((item) => (item.type === 'function_call' ? [item.call_id, item.arguments] : null))).toEqual([
      ['call_0', '{}'],
      ['call_1', '{}'],
    ]);
  });

  it('does not double a tool name that a backend repeats on every fragment', async () => {
    const { response } = await convertValid([
      chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'get_weather', arguments: '{"a":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: 'get_weather', arguments: '1}' } }] }, 'tool_calls'),
      done,
    ]);
    expect(response.output[0]).toMatchObject({ name: 'get_weather', arguments: '{"a":1}' });
  });

  it('marks a call cut at the token cap incomplete even when vLLM reports finish_reason tool_calls', async () => {
    const { response } = await convertValid(
      [
        chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'write', arguments: '{"text": "long' } }] }, 'tool_calls'),
        { type: 'chunk', chunk: { choices: [], usage: { prompt_tokens: 5, completion_tokens: 64, total_tokens: 69 } } },
        done,
      ],
      { request: { max_output_tokens: 64 } },
    );
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(response.output[0]).toMatchObject({ status: 'incomplete' });
  });

  it('completes after [DONE] without a finish_reason, and after a finish_reason without [DONE]', async () => {
    expect((await convertValid([chunk({ content: 'a' }), done])).response.status).toBe('completed');
    expect((await convertValid([chunk({ content: 'a' }, 'stop')])).response.status).toBe('completed');
  });

  it('fails with the upstream error code when the upstream layer reports an error event', async () => {
    const events = await convert([chunk({ content: 'a' }), { type: 'error', error: { code: 'rate_limit_exceeded', message: 'Slow down, try again in 2s.' } }]);
    const response = assertValidResponsesEventSequence(events);
    expect(response.error).toEqual({ code: 'rate_limit_exceeded', message: 'Slow down, try again in 2s.' });
  });

  it('fails cleanly, with the reason, when reading the backend breaks in a way it could not report', () => {
    const converter = createResponseEventConverter(createTestContext());
    const events = [
      ...converter.start(),
      ...converter.push(chunk({ content: 'partial' })),
      ...converter.fail({ code: 'server_error', message: 'socket hang up' }),
    ];
    const response = assertValidResponsesEventSequence(events);
    expect(response).toMatchObject({
      status: 'failed',
      error: { code: 'server_error', message: 'socket hang up' },
      output: [{ type: 'message', status: 'incomplete' }],
    });
  });

  it('fails on finish_reason "error" and drops a call that was never announced', async () => {
    const events = await convert([chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '' } }] }, 'error'), done]);
    const response = assertValidResponsesEventSequence(events);
    expect(response).toMatchObject({ status: 'failed', output: [], error: { code: 'server_error' } });
  });

  it('says it ended with the terminal event and ignores whatever the backend sends after it', () => {
    const converter = createResponseEventConverter(createTestContext());
    converter.start();
    converter.push(chunk({ content: 'a' }, 'stop'));
    expect(converter.ended).toBe(false);
    expect(converter.push(done).map((event) => event.type)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(converter.ended).toBe(true);
    expect(converter.push(chunk({ content: 'late' }))).toEqual([]);
    expect(converter.end()).toEqual([]);
  });
});
