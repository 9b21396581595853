/**
 * The typed state record the stream converter folds Chat chunks into. One item is open at a time
 * (items are never interleaved, responses-api.md §4.3.2); tool calls that cannot stream live wait in
 * `toolCalls` until the end.
 */
import type { Response, ResponseOutputItem, ResponseOutputText, ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { ChatUsage } from './chat-chunk-schema.ts';
import type { ResponseContext } from './converter-contract.ts';
import { buildResponseSkeleton, isReasoningSummaryRequested } from './build-response-skeleton.ts';
import { GENERIC_BACKEND_PROFILE } from './backend-profile.ts';
import { createInlineReasoningSplitter, type InlineReasoningSplitter } from './split-inline-reasoning.ts';

/** `incomplete` when the backend stopped mid-item (length cap, content filter, cut stream). */
export type ItemStatus = 'completed' | 'incomplete';

/**
 * Each open item carries the function that closes it (its done events and `output_item.done`), set
 * by the handler that opened it: closing "whatever is open" then needs no switch over the handlers,
 * so the handlers do not import each other (no import cycle).
 */
interface Closable {
  readonly close: (status: ItemStatus) => void;
}

export interface OpenReasoning extends Closable {
  readonly kind: 'reasoning';
  readonly outputIndex: number;
  readonly id: string;
  text: string;
}

export type MessagePart =
  | { readonly type: 'output_text'; text: string; readonly logprobs: ResponseOutputText.Logprob[] }
  | { readonly type: 'refusal'; refusal: string };

export interface OpenMessage extends Closable {
  readonly kind: 'message';
  readonly outputIndex: number;
  readonly id: string;
  readonly parts: MessagePart[];
}

export interface OpenToolCall extends Closable {
  readonly kind: 'tool_call';
  readonly outputIndex: number;
  readonly call: ToolCallBuffer;
}

export type OpenItem = OpenReasoning | OpenMessage | OpenToolCall;

/** One Chat `tool_calls[index]`, accumulated across fragments. */
export interface ToolCallBuffer {
  readonly chatIndex: number;
  /** The backend's id from the first fragment that carried one. */
  backendId: string | null;
  name: string;
  arguments: string;
  /** `buffered` until announced; `live` while streaming as the open item; `done` once closed. */
  phase: 'buffered' | 'live' | 'done';
  /** Length of `arguments` already sent as deltas while live. */
  sentLength: number;
  itemId: string | null;
  callId: string | null;
}

export interface StreamState {
  readonly context: ResponseContext;
  /** The in-progress Response echoed in lifecycle events; the terminal event extends it. */
  readonly skeleton: Response;
  readonly summaryRequested: boolean;
  sequenceNumber: number;
  /** Events produced by the handler that ran last, drained by the generator after each input event. */
  readonly outbox: ResponseStreamEvent[];
  /** Finished items in output_index order. */
  readonly output: ResponseOutputItem[];
  open: OpenItem | null;
  /** Every call of the answer, in first-seen order. */
  readonly toolCalls: ToolCallBuffer[];
  /**
   * The call each Chat `index` currently feeds. Usually one call per index; backends that reuse an
   * index for the next call (Ollama puts every call at 0) move the slot to the new call.
   */
  readonly toolCallSlots: Map<number, ToolCallBuffer>;
  /** Splits `<think>…</think>` out of `content` when the backend profile says models may write it there. */
  readonly inlineReasoning: InlineReasoningSplitter | null;
  finishReason: string | null;
  usage: ChatUsage | null;
  /** Set once the terminal event is queued; nothing is emitted after it. */
  ended: boolean;
}

/** Every stream event minus `sequence_number`, which `emit` stamps. */
export type UnsequencedEvent = ResponseStreamEvent extends infer E ? (E extends ResponseStreamEvent ? Omit<E, 'sequence_number'> : never) : never;

export function createStreamState(context: ResponseContext): StreamState {
  return {
    context,
    skeleton: buildResponseSkeleton(context),
    summaryRequested: isReasoningSummaryRequested(context),
    sequenceNumber: 0,
    outbox: [],
    output: [],
    open: null,
    toolCalls: [],
    toolCallSlots: new Map(),
    inlineReasoning: (context.backendProfile ?? GENERIC_BACKEND_PROFILE).inlineThinkTags ? createInlineReasoningSplitter() : null,
    finishReason: null,
    usage: null,
    ended: false,
  };
}

/** Queues an event with the next sequence number (0, 1, 2, … per stream). */
export function emit(state: StreamState, event: UnsequencedEvent): void {
  state.outbox.push({ ...event, sequence_number: state.sequenceNumber++ } as ResponseStreamEvent);
}

/** The output_index the next announced item gets: items are appended, one at a time. */
export function nextOutputIndex(state: StreamState): number {
  return state.output.length + (state.open === null ? 0 : 1);
}

/** Closes whichever item is open; no-op when none is. */
export function closeOpenItem(state: StreamState, status: ItemStatus): void {
  state.open?.close(status);
}

/** Records a finished item at its output_index and clears the open slot. */
export function finishOpenItem(state: StreamState, item: ResponseOutputItem): void {
  state.output.push(item);
  state.open = null;
}
