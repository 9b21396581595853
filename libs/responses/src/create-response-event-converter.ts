/**
 * Chat Completions stream → Responses stream events (responses-api.md §4, §8), one backend event at a
 * time: the state machine over a typed state record, one handler per chunk family, each queueing the
 * events it produces. Push-based, so whoever reads the backend (the turn runner, a test, a benchmark)
 * drives it without an async generator layer (a promise per event) in between. Pure: ids and clocks
 * come from the context. `start()` gives `response.created` and `response.in_progress`; after that,
 * whatever is pushed, exactly one terminal event comes out, last, and nothing after it.
 */
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { ChatCompletionChunk } from './chat-chunk-schema.ts';
import type { ChatStreamEvent, ResponseContext } from './converter-contract.ts';
import { failResponse, finishResponse, startResponse } from './finish-response.ts';
import { handleContentDelta } from './handle-content-delta.ts';
import { handleRefusalDelta } from './handle-message-delta.ts';
import { handleReasoningDelta } from './handle-reasoning-delta.ts';
import { handleToolCallDeltas } from './handle-tool-call-deltas.ts';
import { readReasoningDelta } from './read-reasoning-delta.ts';
import { createStreamState, type StreamState } from './stream-state.ts';
import type { UpstreamStreamError } from './upstream-stream-error.ts';

export interface ResponseEventConverter {
  /** `response.created` and `response.in_progress`; call once, first. */
  start(): ResponseStreamEvent[];
  /** One backend event → the Responses events it completes (often none or one). Nothing once ended. */
  push(event: ChatStreamEvent): ResponseStreamEvent[];
  /** The backend's events ran out: completes after a finish_reason, else fails (the stream was cut). */
  end(): ResponseStreamEvent[];
  /** Reading the backend failed in a way it could not report as a value (a torn socket, a bug). */
  fail(error: UpstreamStreamError): ResponseStreamEvent[];
  /** True once the terminal event went out: stop reading the backend. */
  readonly ended: boolean;
}

export function createResponseEventConverter(context: ResponseContext): ResponseEventConverter {
  const state = createStreamState(context);
  return {
    start() {
      startResponse(state);
      return drain(state);
    },
    push(event) {
      handleStreamEvent(state, event);
      return drain(state);
    },
    end() {
      endAtEof(state);
      return drain(state);
    },
    fail(error) {
      failResponse(state, error);
      return drain(state);
    },
    get ended() {
      return state.ended;
    },
  };
}

/**
 * The same steps over events that are all here already (a non-streamed completion, see
 * convertChatCompletionToStreamEvents): every Responses event of the answer at once.
 */
export function convertChatEventsToResponsesEvents(events: Iterable<ChatStreamEvent>, context: ResponseContext): ResponseStreamEvent[] {
  const converter = createResponseEventConverter(context);
  const output = converter.start();
  for (const event of events) {
    output.push(...converter.push(event));
    if (converter.ended) return output;
  }
  output.push(...converter.end());
  return output;
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
  if (state.ended) return;
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
    if (delta.content) handleContentDelta(state, delta.content, choice.logprobs);
    if (delta.tool_calls && delta.tool_calls.length > 0) handleToolCallDeltas(state, delta.tool_calls);
  }
  if (choice.finish_reason) state.finishReason = choice.finish_reason;
}

/** The events queued so far; the outbox is emptied for the next step. */
function drain(state: StreamState): ResponseStreamEvent[] {
  return state.outbox.splice(0, state.outbox.length);
}

function assertNever(value: never): never {
  throw new Error(`Unhandled chat stream event: ${JSON.stringify(value)}`);
}
