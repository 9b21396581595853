import { InvalidRequestError } from '@rgw/errors';
import { type ResponsesRequest, parseResponsesRequest } from '@rgw/responses';

/** A validated `POST /v1/responses` body (or WebSocket `response.create`), ready for prepareConversation. */
export interface CreateRequest {
  /** The request, without a trailing `compaction_trigger` item. */
  readonly request: ResponsesRequest;
  /**
   * Codex's remote compaction v2 (`[model_providers.<id>.capabilities] remote_compaction = "v2"`):
   * the input ended with `{"type":"compaction_trigger"}`, and the answer must be exactly one
   * `compaction` output item (routes/run-response-turn.ts).
   */
  readonly compactionTrigger: boolean;
}

/**
 * Parses a create body and refuses what the gateway cannot honour without losing something the client
 * sent: `conversation` objects, and a `compaction_trigger` that is not the last input item (the API's
 * own rule, worded as OpenAI words it).
 */
export function readCreateRequest(body: unknown, maxInputItems: number): CreateRequest {
  const request = parseResponsesRequest(body, { maxInputItems });
  if (request.conversation !== undefined && request.conversation !== null) {
    // Silently answering without the conversation's items would lose what the client sent.
    throw new InvalidRequestError('Conversation objects are not supported by this gateway; chain turns with previous_response_id instead.', {
      param: 'conversation',
      code: 'unsupported_parameter',
    });
  }
  const input = request.input;
  if (!Array.isArray(input)) return { request, compactionTrigger: false };
  const last = input.length - 1;
  const misplaced = input.findIndex((item, index) => item.type === 'compaction_trigger' && index !== last);
  if (misplaced !== -1) {
    throw new InvalidRequestError("The 'compaction_trigger' item must be the final input item.", { param: `input[${misplaced}]`, code: 'invalid_value' });
  }
  if (input[last]?.type !== 'compaction_trigger') return { request, compactionTrigger: false };
  if (request.background) {
    throw new InvalidRequestError('A compaction_trigger cannot run in the background; send it without background.', {
      param: 'background',
      code: 'unsupported_parameter',
    });
  }
  return { request: { ...request, input: input.slice(0, last) }, compactionTrigger: true };
}
