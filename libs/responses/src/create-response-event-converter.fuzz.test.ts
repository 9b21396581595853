import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseChatChunk } from './chat-chunk-schema.ts';
import type { ChatStreamEvent, ResponseStreamEvent } from './converter-contract.ts';
import { convertChatEventsToResponsesEvents } from './create-response-event-converter.ts';
import { assertValidResponsesEventSequence } from './test-support/assert-valid-responses-event-sequence.ts';
import { createTestContext } from './test-support/create-test-context.ts';

/**
 * Whatever a backend streams (chunks in any order, tool-call fragments with missing or repeated
 * ids, unknown finish reasons, errors, a missing [DONE], garbage), the converter produces a stream
 * strict clients accept: created and in_progress first, items opened and closed in order, exactly
 * one terminal event, last.
 */
const text = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('', '\ud800', '\n\ndata: [DONE]\n\n', '🤔'));
const toolCallDelta = fc.record(
  {
    index: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant(99)),
    id: fc.option(fc.constantFrom('call_a', 'call_b', 'call_c', '')),
    type: fc.constant('function'),
    function: fc.record({ name: fc.option(fc.constantFrom('get_weather', 'exec_command', 'ns__tool', '')), arguments: fc.option(text) }, { requiredKeys: [] }),
  },
  { requiredKeys: ['index'] },
);
const delta = fc.record(
  {
    role: fc.constant('assistant'),
    content: fc.option(text),
    reasoning_content: fc.option(text),
    reasoning: fc.option(text),
    refusal: fc.option(text),
    tool_calls: fc.option(fc.array(toolCallDelta, { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const finishReason = fc.option(fc.constantFrom('stop', 'length', 'tool_calls', 'content_filter', 'function_call', 'abort', 'eos'));
const usage = fc.record({ prompt_tokens: fc.nat(1000), completion_tokens: fc.nat(1000), total_tokens: fc.nat(2000) });
const rawChunk: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      id: fc.constant('c1'),
      object: fc.constant('chat.completion.chunk'),
      created: fc.constant(1),
      model: fc.constant('m'),
      choices: fc.array(fc.record({ index: fc.constant(0), delta, finish_reason: finishReason }), { maxLength: 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      id: fc.constant('c1'),
      object: fc.constant('chat.completion.chunk'),
      created: fc.constant(1),
      model: fc.constant('m'),
      choices: fc.constant([]),
      usage,
    }),
  },
  { weight: 1, arbitrary: fc.record({ error: fc.record({ message: fc.string(), code: fc.oneof(fc.integer(), fc.string()) }) }) },
  { weight: 1, arbitrary: fc.jsonValue() },
);
const streamEvent: fc.Arbitrary<ChatStreamEvent> = fc.oneof(
  {
    weight: 12,
    arbitrary: rawChunk.map((json): ChatStreamEvent => {
      const parsed = parseChatChunk(json);
      return parsed.success ? { type: 'chunk', chunk: parsed.chunk } : { type: 'error', error: parsed.error };
    }),
  },
  { weight: 1, arbitrary: fc.constant<ChatStreamEvent>({ type: 'done' }) },
  { weight: 1, arbitrary: fc.constant<ChatStreamEvent>({ type: 'error', error: { code: 'server_error', message: 'The backend connection was reset.' } }) },
);
const toolNames = {
  get_weather: { kind: 'function' as const, name: 'get_weather' },
  exec_command: { kind: 'custom' as const, name: 'exec_command' },
  ns__tool: { kind: 'function' as const, name: 'tool', namespace: 'ns' },
};

function fuzzContext(stream: boolean) {
  return createTestContext({ request: { stream, reasoning: { summary: 'auto' } }, toolNames, sealReasoning: (reasoning) => `sealed:${reasoning.length}` });
}

function convert(events: readonly ChatStreamEvent[], stream: boolean): ResponseStreamEvent[] {
  return convertChatEventsToResponsesEvents(events, fuzzContext(stream));
}

describe('answer side under fuzzing', () => {
  it('any backend event sequence becomes a valid Responses event sequence with one terminal event', () => {
    fc.assert(
      fc.property(fc.array(streamEvent, { maxLength: 30 }), (events) => {
        const output = convert(events, true);
        const terminal = assertValidResponsesEventSequence(output);
        // The one terminal event is named for the status of the Response it carries.
        expect(output.at(-1)?.type).toBe(`response.${terminal.status}`);
      }),
      { numRuns: 1_500 },
    );
  });

  it('a stream cut before [DONE] and before any finish_reason never reports completed', () => {
    fc.assert(
      fc.property(fc.array(streamEvent, { maxLength: 20 }), (events) => {
        const cut = events.filter((event) => event.type === 'chunk' && (event.chunk.choices ?? []).every((choice) => choice.finish_reason == null));
        const output = convert(cut, true);
        const terminal = assertValidResponsesEventSequence(output);
        expect(terminal.status).not.toBe('completed');
      }),
      { numRuns: 500 },
    );
  });

  it('the final Response does not depend on how the backend cut its text into chunks', () => {
    fc.assert(
      fc.property(fc.array(streamEvent, { maxLength: 30 }), fc.nat(), (events, seed) => {
        const resplit = events.flatMap((event): ChatStreamEvent[] => splitContent(event, seed));
        expect(convert(resplit, true).at(-1)).toMatchObject({ type: convert(events, true).at(-1)?.type, response: terminalOf(convert(events, true)) });
      }),
      { numRuns: 1_000 },
    );
  });
});

/** A chunk whose text content is split in two chunks at a point chosen by `seed`: what a backend streaming faster or slower sends. */
function splitContent(event: ChatStreamEvent, seed: number): ChatStreamEvent[] {
  if (event.type !== 'chunk') return [event];
  const choice = event.chunk.choices?.[0];
  const content = choice?.delta?.content;
  if (choice === undefined || typeof content !== 'string' || content.length < 2) return [event];
  const at = 1 + (seed % (content.length - 1));
  const { tool_calls: toolCalls, ...beforeTools } = choice.delta ?? {};
  const first: ChatStreamEvent = {
    type: 'chunk',
    chunk: { ...event.chunk, usage: null, choices: [{ ...choice, delta: { ...beforeTools, content: content.slice(0, at) }, finish_reason: null }] },
  };
  const second: ChatStreamEvent = {
    type: 'chunk',
    chunk: { ...event.chunk, choices: [{ ...choice, delta: { content: content.slice(at), ...(toolCalls === undefined ? {} : { tool_calls: toolCalls }) } }] },
  };
  return [first, second];
}

function terminalOf(events: readonly ResponseStreamEvent[]): unknown {
  const last = events.at(-1);
  return last !== undefined && 'response' in last ? last.response : undefined;
}
