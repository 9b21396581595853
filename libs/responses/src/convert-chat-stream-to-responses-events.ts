/**
 * Chat Completions stream → Responses stream events (responses-api.md §4, §8). An async generator over
 * a typed state record: one handler per chunk family, each queueing events that are yielded after every
 * input event. Pure: ids and clocks come from the context. Always yields `response.created`,
 * `response.in_progress` first and exactly one terminal event last, whatever the backend does.
 */
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { ChatCompletionChunk } from './chat-chunk-schema.ts';
import type { ChatStreamEvent, ResponseContext } from './converter-contract.ts';
import { failResponse, finishResponse, startResponse } from './finish-response.ts';
import { handleRefusalDelta, handleTextDelta } from './handle-message-delta.ts';
import { handleReasoningDelta } from './handle-reasoning-delta.ts';
import { handleToolCallDeltas } from './handle-tool-call-deltas.ts';
import { readReasoningDelta } from './read-reasoning-delta.ts';
import { createStreamState, type StreamState } from './stream-state.ts';

export async function* convertChatStreamToResponsesEvents(
  events: AsyncIterable<ChatStreamEvent>,
  context: ResponseContext,
): AsyncGenerator<ResponseStreamEvent> {
  const state = createStreamState(context);
  startResponse(state);
  for (const queued of drain(state)) yield queued;
  try {
    for await (const event of events) {
      handleStreamEvent(state, event);
      for (const queued of drain(state)) yield queued;
      // Returning ends the for-await, which releases the upstream iterator (and its connection).
      if (state.ended) return;
    }
  } catch (error) {
    // The upstream layer reports failures as values; a throw is a bug or a torn socket. Either way the
    // client still gets a well-formed end.
    failResponse(state, { code: 'server_error', message: `The backend stream failed: ${describe(error)}` });
    for (const queued of drain(state)) yield queued;
    return;
  }
  endAtEof(state);
  for (const queued of drain(state)) yield queued;
}

/**
 * The same machine over events that are all here already (a non-streamed completion, see
 * convertChatCompletionToStreamEvents): every Responses event at once, without the promise per
 * event an async generator costs (a fifth of a non-streamed request's converter CPU, docs/benchmarks.md).
 */
export function convertChatEventsToResponsesEvents(events: Iterable<ChatStreamEvent>, context: ResponseContext): ResponseStreamEvent[] {
  const state = createStreamState(context);
  startResponse(state);
  for (const event of events) {
    handleStreamEvent(state, event);
    if (state.ended) return state.outbox;
  }
  endAtEof(state);
  return state.outbox;
}

/** The events ran out before a terminal event. */
function endAtEof(state: StreamState): void {
  if (state.finishReason === null) {
    // No `[DONE]` and no finish_reason: the connection was cut mid-answer.
    failResponse(state, { code: 'server_error', message: 'The backend closed the stream before finishing the response.' });
  } else {
    // Some servers (older Ollama builds, thin proxies) end after the finish chunk without `[DONE]`.
    finishResponse(state);
  }
}

function handleStreamEvent(state: StreamState, event: ChatStreamEvent): void {
  switch (event.type) {
    case 'chunk':
      return handleChunk(state, event.chunk);
    case 'done':
      return finishResponse(state);
    case 'error':
      return failResponse(state, event.error);
    default:
      return assertNever(event);
  }
}

/**
 * One chunk, in the order a model produces it: reasoning, then visible text, then tool calls. Only
 * choice 0 is read (the gateway never asks for `n > 1`). Chunk 0's `{"role":"assistant","content":""}`
 * opens nothing: items open on non-empty data only (§11.1), or a message would precede the reasoning.
 */
function handleChunk(state: StreamState, chunk: ChatCompletionChunk): void {
  // Usage rides on a final chunk with `choices: []`, after the finish chunk (include_usage).
  if (chunk.usage) state.usage = chunk.usage;
  const choice = chunk.choices?.find((candidate) => (candidate.index ?? 0) === 0);
  if (!choice) return;
  const delta = choice.delta;
  if (delta) {
    const reasoning = readReasoningDelta(delta);
    if (reasoning !== '') handleReasoningDelta(state, reasoning);
    if (delta.refusal) handleRefusalDelta(state, delta.refusal);
    if (delta.content) handleTextDelta(state, delta.content, choice.logprobs);
    if (delta.tool_calls && delta.tool_calls.length > 0) handleToolCallDeltas(state, delta.tool_calls);
  }
  if (choice.finish_reason) state.finishReason = choice.finish_reason;
}

/**
 * The events queued so far, as an array the generator loops over: `yield*` over a sync generator
 * inside an async generator costs an extra promise per event.
 */
function drain(state: StreamState): ResponseStreamEvent[] {
  return state.outbox.splice(0, state.outbox.length);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function assertNever(value: never): never {
  throw new Error(`Unhandled chat stream event: ${JSON.stringify(value)}`);
}
