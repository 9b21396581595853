/**
 * Chat `tool_calls` deltas → `function_call` / `custom_tool_call` items (responses-api.md §4.4 b/d, §8.5.4).
 * Fragments are accumulated per Chat `index`. Items are never interleaved, so a call streams live only
 * while it is the sole open call; calls whose fragments arrive while another streams (vLLM/SGLang can
 * alternate indices) wait and are emitted whole, in index order, when the stream ends.
 *
 * Two dialects reuse an index for a new call (responses-api.md §12.5): Ollama sends every parallel call
 * at `index` 0 with its own id, and some backends omit `index` and send each call whole in one chunk.
 * A fragment starts a new call at an occupied index when it names a function and carries an id other
 * than the call's, or, without `index`, names one while the call there is already whole; merging them
 * (what LiteLLM and others did) would give one call with `{…}{…}` as arguments.
 */
import type { ResponseFunctionCallArgumentsDoneEvent } from 'openai/resources/responses/responses';
import type { ChatToolCallDelta } from './chat-chunk-schema.ts';
import {
  closeOpenItem,
  emit,
  finishOpenItem,
  type ItemStatus,
  nextOutputIndex,
  type OpenToolCall,
  type StreamState,
  type ToolCallBuffer,
} from './stream-state.ts';
import { buildToolCallItem, isCompleteJson, resolveToolName } from './build-tool-call-item.ts';

export function handleToolCallDeltas(state: StreamState, deltas: readonly ChatToolCallDelta[]): void {
  for (const [position, delta] of deltas.entries()) {
    // Some backends omit `index` when they send whole calls in one delta: the position stands in.
    const call = bufferFor(state, delta, position);
    // A fragment for a call already closed (text arrived in between) cannot be shown any more.
    if (call.phase === 'done') continue;
    if (delta.id && call.backendId === null) call.backendId = delta.id;
    const nameFragment = delta.function?.name ?? '';
    // Names normally come whole in the first fragment; a backend that repeats them must not double them.
    if (nameFragment !== call.name) call.name += nameFragment;
    call.arguments += delta.function?.arguments ?? '';
    if (call.phase === 'live') sendLiveArguments(state, call);
    else if (canStreamLive(state, call)) openLive(state, call);
  }
}

/** Emits every call still waiting, whole and one after another, after whatever was open is closed. */
export function flushBufferedToolCalls(state: StreamState, statusOf: (call: ToolCallBuffer) => ItemStatus): void {
  const waiting = state.toolCalls.filter((call) => call.phase === 'buffered');
  // Index order; calls sharing an index (Ollama) keep their arrival order (the sort is stable).
  waiting.sort((left, right) => left.chatIndex - right.chatIndex);
  for (const call of waiting) {
    announce(state, call);
    closeOpenItem(state, statusOf(call));
  }
}

function closeToolCall(state: StreamState, open: OpenToolCall, status: ItemStatus): void {
  const call = open.call;
  const item = buildToolCallItem(state, call, status);
  const address = { item_id: call.itemId ?? '', output_index: open.outputIndex };
  if (item.type === 'custom_tool_call') {
    emit(state, { type: 'response.custom_tool_call_input.delta', ...address, delta: item.input });
    emit(state, { type: 'response.custom_tool_call_input.done', ...address, input: item.input });
  } else {
    sendLiveArguments(state, call);
    // `name` is required on `.done` since the 2026 schema, though the installed SDK type lacks it.
    const done: Omit<ResponseFunctionCallArgumentsDoneEvent, 'sequence_number'> & { readonly name: string } = {
      type: 'response.function_call_arguments.done',
      ...address,
      arguments: item.arguments,
      name: item.name,
    };
    emit(state, done);
  }
  call.phase = 'done';
  emit(state, { type: 'response.output_item.done', output_index: open.outputIndex, item });
  finishOpenItem(state, item);
}

/** The call this fragment feeds: the one at its index, or a new one when the fragment starts another call. */
function bufferFor(state: StreamState, delta: ChatToolCallDelta, position: number): ToolCallBuffer {
  const chatIndex = delta.index ?? position;
  const existing = state.toolCallSlots.get(chatIndex);
  if (existing && !startsAnotherCall(existing, delta)) return existing;
  // The call superseded at this index gets no more fragments: if it is streaming, it is finished.
  if (existing && state.open?.kind === 'tool_call' && state.open.call === existing) closeOpenItem(state, 'completed');
  const call: ToolCallBuffer = { chatIndex, backendId: null, name: '', arguments: '', phase: 'buffered', sentLength: 0, itemId: null, callId: null };
  state.toolCalls.push(call);
  state.toolCallSlots.set(chatIndex, call);
  return call;
}

/** Only a fragment that names a function can open a call; an arguments-only fragment always continues one. */
function startsAnotherCall(call: ToolCallBuffer, delta: ChatToolCallDelta): boolean {
  if (!delta.function?.name) return false;
  if (delta.id && call.backendId !== null && delta.id !== call.backendId) return true;
  const indexless = delta.index === null || delta.index === undefined;
  return indexless && call.name !== '' && isCompleteJson(call.arguments);
}

/**
 * Live only when nothing else is streaming as a call, no earlier call waits (index order), and the
 * name is settled — arguments have started, so no name fragment can follow. Custom tools are never
 * live: their text sits JSON-encoded inside `{"input": …}` and is only readable once complete.
 */
function canStreamLive(state: StreamState, call: ToolCallBuffer): boolean {
  if (state.open?.kind === 'tool_call') return false;
  if (call.name === '' || call.arguments === '') return false;
  if (resolveToolName(state, call.name).kind === 'custom') return false;
  for (const other of state.toolCalls) {
    if (other !== call && other.phase === 'buffered') return false;
  }
  return true;
}

function openLive(state: StreamState, call: ToolCallBuffer): void {
  announce(state, call);
  sendLiveArguments(state, call);
}

/** `output_item.added` with the final name and call_id, arguments/input still empty. */
function announce(state: StreamState, call: ToolCallBuffer): void {
  closeOpenItem(state, 'completed');
  const outputIndex = nextOutputIndex(state);
  call.phase = 'live';
  call.callId = pickCallId(state, call);
  const kind = resolveToolName(state, call.name).kind;
  call.itemId = state.context.createId(kind === 'custom' ? 'ctc' : 'fc');
  const open: OpenToolCall = { kind: 'tool_call', outputIndex, call, close: (status) => closeToolCall(state, open, status) };
  state.open = open;
  const skeleton = buildToolCallItem(state, call, 'in_progress');
  const item = skeleton.type === 'custom_tool_call' ? { ...skeleton, input: '' } : { ...skeleton, arguments: '' };
  emit(state, { type: 'response.output_item.added', output_index: outputIndex, item });
}

function sendLiveArguments(state: StreamState, call: ToolCallBuffer): void {
  const open = state.open;
  if (open?.kind !== 'tool_call' || open.call !== call || call.sentLength >= call.arguments.length) return;
  const delta = call.arguments.slice(call.sentLength);
  call.sentLength = call.arguments.length;
  emit(state, { type: 'response.function_call_arguments.delta', item_id: call.itemId ?? '', output_index: open.outputIndex, delta });
}

/** The backend's id unless missing or already used in this response (call_ids must be unique). */
function pickCallId(state: StreamState, call: ToolCallBuffer): string {
  const taken = state.toolCalls.some((other) => other !== call && other.callId === call.backendId);
  return call.backendId && !taken ? call.backendId : state.context.createId('call');
}
