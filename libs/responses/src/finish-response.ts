/**
 * The lifecycle edges of a stream: the two opening events, and exactly one terminal event —
 * `response.completed` / `response.incomplete` after `[DONE]` (or EOF after a finish_reason), or
 * `error` + `response.failed` when the backend failed or the connection was cut (responses-api.md §4.3, §8.4).
 */
import type { Response, ResponseUsage } from 'openai/resources/responses/responses';
import { buildFailedResponse, buildFailureEvents } from './build-failure-events.ts';
import type { UpstreamStreamError } from './upstream-stream-error.ts';
import type { EchoedRequestFields } from './build-response-skeleton.ts';
import { isCompleteJson } from './build-tool-call-item.ts';
import { flushHeldContent } from './handle-content-delta.ts';
import { flushBufferedToolCalls } from './handle-tool-call-deltas.ts';
import { mapChatFinishReason, type FinishOutcome } from './map-chat-finish-reason.ts';
import { mapChatUsage } from './map-chat-usage.ts';
import { closeOpenItem, emit, type ItemStatus, type StreamState, type ToolCallBuffer } from './stream-state.ts';

export function startResponse(state: StreamState): void {
  emit(state, { type: 'response.created', response: { ...state.skeleton } });
  emit(state, { type: 'response.in_progress', response: { ...state.skeleton } });
}

/** The backend finished (`[DONE]`, or EOF after a finish_reason): close everything, emit the terminal event. */
export function finishResponse(state: StreamState): void {
  if (state.ended) return;
  flushHeldContent(state);
  const outcome = decideOutcome(state);
  if (outcome.status === 'failed') {
    return failResponse(state, { code: 'server_error', message: `The backend stopped with finish_reason "${state.finishReason}".` });
  }
  const incomplete = outcome.status === 'incomplete';
  // A call whose arguments parse is complete even when the answer as a whole hit a cap.
  const callStatus = (call: ToolCallBuffer): ItemStatus => (incomplete && !isCompleteJson(call.arguments) ? 'incomplete' : 'completed');
  const open = state.open;
  closeOpenItem(state, open?.kind === 'tool_call' ? callStatus(open.call) : incomplete ? 'incomplete' : 'completed');
  flushBufferedToolCalls(state, callStatus);
  const response: Response = {
    ...state.skeleton,
    status: outcome.status,
    completed_at: outcome.status === 'completed' ? state.context.now() : null,
    incomplete_details: outcome.status === 'incomplete' ? { reason: outcome.reason } : null,
    output: [...state.output],
    usage: mapChatUsage(state.usage),
  };
  emit(state, outcome.status === 'completed' ? { type: 'response.completed', response } : { type: 'response.incomplete', response });
  state.ended = true;
}

/**
 * The backend failed mid-stream or the stream was cut. Open items close as `incomplete`; calls never
 * announced are dropped, since a client that runs calls from `output_item.done` (Codex) must not run
 * one the backend never finished.
 */
export function failResponse(state: StreamState, error: UpstreamStreamError): void {
  if (state.ended) return;
  flushHeldContent(state);
  closeOpenItem(state, 'incomplete');
  // `usage` is null, not absent, when the backend never reported any (the echo the Open Responses schema checks).
  const usage = (state.usage === null ? null : mapChatUsage(state.usage)) as unknown as ResponseUsage;
  const failed = buildFailedResponse({ ...state.skeleton, output: [...state.output], usage }, error);
  for (const event of buildFailureEvents(failed)) emit(state, event);
  state.ended = true;
}

/**
 * vLLM rewrites a `length` stop to `tool_calls` once a tool delta went out (vllm issue #53269), hiding
 * truncated arguments: unparsable arguments with output tokens at the request's cap mean the cap was hit.
 */
function decideOutcome(state: StreamState): FinishOutcome {
  const outcome = mapChatFinishReason(state.finishReason);
  if (outcome.status !== 'completed') return outcome;
  const request: EchoedRequestFields = state.context.request;
  const cap = request.max_output_tokens;
  const used = state.usage?.completion_tokens;
  const atCap = typeof cap === 'number' && typeof used === 'number' && used >= cap;
  const truncatedCall = state.toolCalls.some((call) => !isCompleteJson(call.arguments));
  return atCap && truncatedCall ? { status: 'incomplete', reason: 'max_output_tokens' } : outcome;
}
