/**
 * The contract between the two halves of the converter and the gateway that drives them.
 * Request side:  parseResponsesRequest(body) -> ResponsesRequest
 *                convertResponsesRequestToChat(request, options) -> { chatRequest, toolNames, warnings }
 *                resolveBackendProfile({ model, entry, overrides }) -> BackendProfile  (per-backend dialect, for both sides)
 * Answer side:   createResponseEventConverter(context) -> { start, push(event), end, fail }  (push-based, one backend event at a time)
 *                convertChatCompletionToStreamEvents(completion) -> ChatStreamEvent[]  (non-stream path reuses the stream machine)
 *                convertChatEventsToResponsesEvents(events, context) -> ResponseStreamEvent[]  (the same machine, synchronously)
 *                the terminal event's `response` -> Response
 * Everything here is pure: ids and clocks come in through the context.
 */
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { BackendProfile } from './backend-profile.ts';
import type { ChatCompletionChunk } from './chat-chunk-schema.ts';
import type { UpstreamStreamError } from './upstream-stream-error.ts';

export type { UpstreamStreamError };

export type { Response, ResponseStreamEvent };

/** What the upstream layer hands the converter: parsed chunks, the end marker, or a failure as a value. */
export type ChatStreamEvent =
  | { readonly type: 'chunk'; readonly chunk: ChatCompletionChunk }
  /** `data: [DONE]` was seen. A stream that ends without it and without a finish_reason was cut. */
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly error: UpstreamStreamError };

/**
 * How flattened Chat tool names map back to Responses items. Namespaced tools are flattened to
 * `<namespace>__<name>`; custom tools are emulated as a function with one string argument `input`.
 */
export interface ToolNameEntry {
  readonly kind: 'function' | 'custom';
  readonly name: string;
  readonly namespace?: string;
}
export type ToolNameMap = ReadonlyMap<string, ToolNameEntry>;

export type ItemIdPrefix = 'msg' | 'rs' | 'fc' | 'ctc' | 'call';

export interface ResponseContext {
  readonly responseId: string;
  /** Unix seconds. */
  readonly createdAt: number;
  /** The validated request; its fields are echoed on the Response object. */
  readonly request: import('./responses-request-schema.ts').ResponsesRequest;
  /** The model id to echo (the catalogue id the request resolved to). */
  readonly model: string;
  readonly toolNames: ToolNameMap;
  readonly createId: (prefix: ItemIdPrefix) => string;
  /** Unix seconds, read for `completed_at`. */
  readonly now: () => number;
  /**
   * Seals raw reasoning text into `encrypted_content` for stateless round-trips (Codex, store:false).
   * Absent: no encrypted_content is emitted.
   */
  readonly sealReasoning?: (reasoningText: string) => string;
  /** The backend's dialect (resolveBackendProfile); absent: the generic profile. */
  readonly backendProfile?: BackendProfile;
}
