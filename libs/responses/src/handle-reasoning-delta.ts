/**
 * Backend reasoning (`reasoning_content` / `reasoning`) → a `reasoning` item placed before the answer.
 * It is streamed as raw `reasoning_text` content (what DeepSeek's and vLLM's own Responses endpoints do)
 * and, when the client asked for `reasoning.summary`, also as summary part 0: the AI SDK only reads
 * summary events and Codex always asks for a summary (responses-api.md §4.4 c, §11.2).
 */
import type { ResponseReasoningItem } from 'openai/resources/responses/responses';
import { closeOpenItem, emit, finishOpenItem, type ItemStatus, nextOutputIndex, type OpenReasoning, type StreamState } from './stream-state.ts';

export function handleReasoningDelta(state: StreamState, delta: string): void {
  const item = state.open?.kind === 'reasoning' ? state.open : openReasoning(state);
  item.text += delta;
  const address = { item_id: item.id, output_index: item.outputIndex };
  if (state.summaryRequested) {
    emit(state, { type: 'response.reasoning_summary_text.delta', ...address, summary_index: 0, delta });
  }
  emit(state, { type: 'response.reasoning_text.delta', ...address, content_index: 0, delta });
}

function openReasoning(state: StreamState): OpenReasoning {
  closeOpenItem(state, 'completed');
  const item: OpenReasoning = {
    kind: 'reasoning',
    outputIndex: nextOutputIndex(state),
    id: state.context.createId('rs'),
    text: '',
    close: (status) => closeReasoning(state, item, status),
  };
  state.open = item;
  const address = { item_id: item.id, output_index: item.outputIndex };
  emit(state, {
    type: 'response.output_item.added',
    output_index: item.outputIndex,
    item: { id: item.id, type: 'reasoning', summary: [], content: [], status: 'in_progress' },
  });
  if (state.summaryRequested) {
    emit(state, { type: 'response.reasoning_summary_part.added', ...address, summary_index: 0, part: { type: 'summary_text', text: '' } });
  }
  emit(state, { type: 'response.content_part.added', ...address, content_index: 0, part: { type: 'reasoning_text', text: '' } });
  return item;
}

function closeReasoning(state: StreamState, item: OpenReasoning, status: ItemStatus): void {
  const address = { item_id: item.id, output_index: item.outputIndex };
  const text = item.text;
  if (state.summaryRequested) {
    emit(state, { type: 'response.reasoning_summary_text.done', ...address, summary_index: 0, text });
    emit(state, { type: 'response.reasoning_summary_part.done', ...address, summary_index: 0, part: { type: 'summary_text', text } });
  }
  emit(state, { type: 'response.reasoning_text.done', ...address, content_index: 0, text });
  emit(state, { type: 'response.content_part.done', ...address, content_index: 0, part: { type: 'reasoning_text', text } });
  const final: ResponseReasoningItem = {
    id: item.id,
    type: 'reasoning',
    summary: state.summaryRequested ? [{ type: 'summary_text', text }] : [],
    content: [{ type: 'reasoning_text', text }],
    // Opaque to clients; lets a stateless client (Codex, store:false) hand the reasoning back next turn.
    // Left out, not null, when not sealed: the Open Responses schema allows absent but not null.
    ...(state.context.sealReasoning ? { encrypted_content: state.context.sealReasoning(text) } : {}),
    status,
  };
  emit(state, { type: 'response.output_item.done', output_index: item.outputIndex, item: final });
  finishOpenItem(state, final);
}
