import type { ResponseFunctionToolCall } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import type { ChatToolCallDelta } from './chat-chunk-schema.ts';
import type { ChatStreamEvent } from './converter-contract.ts';
import { convertChatEventsToResponsesEvents, createResponseEventConverter } from './create-response-event-converter.ts';
import { assertValidResponsesEventSequence } from './test-support/assert-valid-responses-event-sequence.ts';
import { createTestContext } from './test-support/create-test-context.ts';

function toolChunk(...calls: ChatToolCallDelta[]): ChatStreamEvent {
  return { type: 'chunk', chunk: { choices: [{ index: 0, delta: { tool_calls: calls } }] } };
}

function textChunk(content: string): ChatStreamEvent {
  return { type: 'chunk', chunk: { choices: [{ index: 0, delta: { content } }] } };
}

const finish: ChatStreamEvent = { type: 'chunk', chunk: { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] } };
const done: ChatStreamEvent = { type: 'done' };

function callsOf(input: readonly ChatStreamEvent[]): Pick<ResponseFunctionToolCall, 'call_id' | 'name' | 'arguments'>[] {
  const response = assertValidResponsesEventSequence(convertChatEventsToResponsesEvents(input, createTestContext()));
  return response.output.flatMap((item) => (item.type === 'function_call' ? [{ call_id: item.call_id, name: item.name, arguments: item.arguments }] : []));
}

describe('handleToolCallDeltas', () => {
  it('emits buffered calls in Chat index order, whatever order their fragments arrived in', () => {
    // Call 0 streams live; calls 2 and 1 arrive while it is open, so both wait for the end.
    const calls = callsOf([
      toolChunk({ index: 0, id: 'call_a', function: { name: 'first', arguments: '{"n":' } }),
      toolChunk({ index: 2, id: 'call_c', function: { name: 'third', arguments: '{}' } }),
      toolChunk({ index: 1, id: 'call_b', function: { name: 'second', arguments: '{}' } }),
      toolChunk({ index: 0, function: { arguments: '0}' } }),
      finish,
      done,
    ]);
    expect(calls.map((call) => call.name)).toEqual(['first', 'second', 'third']);
    expect(calls[0]?.arguments).toBe('{"n":0}');
  });

  it('starts a new call at an index already used when the fragment carries another id (Ollama puts every call at 0)', () => {
    const calls = callsOf([
      toolChunk({ index: 0, id: 'call_1', function: { name: 'read', arguments: '{"path":"a.rs"}' } }),
      toolChunk({ index: 0, id: 'call_2', function: { name: 'read', arguments: '{"path":"b.rs"}' } }),
      finish,
      done,
    ]);
    expect(calls).toEqual([
      { call_id: 'call_1', name: 'read', arguments: '{"path":"a.rs"}' },
      { call_id: 'call_2', name: 'read', arguments: '{"path":"b.rs"}' },
    ]);
  });

  it('finishes a call the moment the backend starts the next one at the same index, and streams the next live', () => {
    const converter = createResponseEventConverter(createTestContext());
    converter.start();
    converter.push(toolChunk({ index: 0, id: 'call_1', function: { name: 'read', arguments: '{"path":"a.rs"}' } }));
    const second = converter.push(toolChunk({ index: 0, id: 'call_2', function: { name: 'read', arguments: '{"path":"b.rs"}' } }));
    expect(second.map((event) => event.type)).toEqual([
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
    ]);
  });

  it('keeps one call when a backend repeats the same id on every fragment', () => {
    const calls = callsOf([
      toolChunk({ index: 0, id: 'call_1', function: { name: 'read', arguments: '{"path":' } }),
      toolChunk({ index: 0, id: 'call_1', function: { arguments: '"a.rs"}' } }),
      finish,
      done,
    ]);
    expect(calls).toEqual([{ call_id: 'call_1', name: 'read', arguments: '{"path":"a.rs"}' }]);
  });

  it('continues the call when an arguments-only fragment carries another id: only a named fragment opens a call', () => {
    const calls = callsOf([
      toolChunk({ index: 0, id: 'call_1', function: { name: 'read', arguments: '{"path":' } }),
      toolChunk({ index: 0, id: 'call_other', function: { arguments: '"a.rs"}' } }),
      finish,
      done,
    ]);
    expect(calls).toEqual([{ call_id: 'call_1', name: 'read', arguments: '{"path":"a.rs"}' }]);
  });

  it('keeps whole calls apart when a backend omits both index and id and sends one call per chunk', () => {
    const calls = callsOf([
      toolChunk({ function: { name: 'read', arguments: '{"path":"a.rs"}' } }),
      toolChunk({ function: { name: 'read', arguments: '{"path":"b.rs"}' } }),
      finish,
      done,
    ]);
    expect(calls.map((call) => call.arguments)).toEqual(['{"path":"a.rs"}', '{"path":"b.rs"}']);
    expect(new Set(calls.map((call) => call.call_id)).size).toBe(2);
  });

  it('does not drop a call that reuses index 0 after text closed the previous one', () => {
    const calls = callsOf([
      toolChunk({ index: 0, id: 'call_1', function: { name: 'read', arguments: '{}' } }),
      textChunk('Now the second one.'),
      toolChunk({ index: 0, id: 'call_2', function: { name: 'write', arguments: '{}' } }),
      finish,
      done,
    ]);
    expect(calls.map((call) => call.call_id)).toEqual(['call_1', 'call_2']);
  });
});
