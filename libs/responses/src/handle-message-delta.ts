/**
 * Chat `content` / `refusal` deltas → one assistant `message` item with `output_text` and `refusal`
 * parts (responses-api.md §4.4 a). A part switch (text after refusal or back) closes the current part
 * and opens the next content_index; the message itself stays open.
 */
import type { ResponseOutputMessage, ResponseOutputText, ResponseTextDeltaEvent } from 'openai/resources/responses/responses';
import type { ChatLogprobs } from './chat-chunk-schema.ts';
import { closeOpenItem, emit, finishOpenItem, type ItemStatus, type MessagePart, nextOutputIndex, type OpenMessage, type StreamState } from './stream-state.ts';

export function handleTextDelta(state: StreamState, delta: string, logprobs: ChatLogprobs | null | undefined): void {
  const message = state.open?.kind === 'message' ? state.open : openMessage(state);
  const part = currentPart(state, message, 'output_text');
  if (part.type !== 'output_text') return;
  const entries = logprobs?.content ?? [];
  part.text += delta;
  part.logprobs.push(...entries.map(toOutputLogprob));
  emit(state, {
    type: 'response.output_text.delta',
    item_id: message.id,
    output_index: message.outputIndex,
    content_index: message.parts.length - 1,
    delta,
    // Required by the schema even when empty; strict pydantic clients break without it.
    logprobs: entries.map(toDeltaLogprob),
  });
}

export function handleRefusalDelta(state: StreamState, delta: string): void {
  const message = state.open?.kind === 'message' ? state.open : openMessage(state);
  const part = currentPart(state, message, 'refusal');
  if (part.type !== 'refusal') return;
  part.refusal += delta;
  const address = { item_id: message.id, output_index: message.outputIndex, content_index: message.parts.length - 1 };
  emit(state, { type: 'response.refusal.delta', ...address, delta });
}

function closeMessage(state: StreamState, message: OpenMessage, status: ItemStatus): void {
  closeCurrentPart(state, message);
  const final: ResponseOutputMessage = {
    id: message.id,
    type: 'message',
    status,
    role: 'assistant',
    content: message.parts.map(toFinalPart),
  };
  emit(state, { type: 'response.output_item.done', output_index: message.outputIndex, item: final });
  finishOpenItem(state, final);
}

function openMessage(state: StreamState): OpenMessage {
  closeOpenItem(state, 'completed');
  const message: OpenMessage = {
    kind: 'message',
    outputIndex: nextOutputIndex(state),
    id: state.context.createId('msg'),
    parts: [],
    close: (status) => closeMessage(state, message, status),
  };
  state.open = message;
  emit(state, {
    type: 'response.output_item.added',
    output_index: message.outputIndex,
    item: { id: message.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
  });
  return message;
}

/** The open part of the wanted type, closing a part of the other type and opening a new one. */
function currentPart(state: StreamState, message: OpenMessage, type: MessagePart['type']): MessagePart {
  const last = message.parts.at(-1);
  if (last?.type === type) return last;
  if (last !== undefined) closeCurrentPart(state, message);
  const part: MessagePart = type === 'output_text' ? { type, text: '', logprobs: [] } : { type, refusal: '' };
  message.parts.push(part);
  emit(state, {
    type: 'response.content_part.added',
    item_id: message.id,
    output_index: message.outputIndex,
    content_index: message.parts.length - 1,
    part: toFinalPart(part),
  });
  return part;
}

function closeCurrentPart(state: StreamState, message: OpenMessage): void {
  const part = message.parts.at(-1);
  if (part === undefined) return;
  const address = { item_id: message.id, output_index: message.outputIndex, content_index: message.parts.length - 1 };
  if (part.type === 'output_text') {
    emit(state, { type: 'response.output_text.done', ...address, text: part.text, logprobs: [...part.logprobs] });
  } else {
    emit(state, { type: 'response.refusal.done', ...address, refusal: part.refusal });
  }
  emit(state, { type: 'response.content_part.done', ...address, part: toFinalPart(part) });
}

function toFinalPart(part: MessagePart): ResponseOutputMessage['content'][number] {
  return part.type === 'output_text'
    ? { type: 'output_text', annotations: [], logprobs: [...part.logprobs], text: part.text }
    : { type: 'refusal', refusal: part.refusal };
}

type ChatLogprob = NonNullable<NonNullable<ChatLogprobs['content']>[number]>;

function toOutputLogprob(entry: ChatLogprob): ResponseOutputText.Logprob {
  return {
    token: entry.token,
    logprob: entry.logprob,
    bytes: entry.bytes ?? [],
    top_logprobs: (entry.top_logprobs ?? []).map((top) => ({ token: top.token, logprob: top.logprob, bytes: top.bytes ?? [] })),
  };
}

function toDeltaLogprob(entry: ChatLogprob): ResponseTextDeltaEvent.Logprob {
  return {
    token: entry.token,
    logprob: entry.logprob,
    top_logprobs: (entry.top_logprobs ?? []).map((top) => ({ token: top.token, logprob: top.logprob })),
  };
}
