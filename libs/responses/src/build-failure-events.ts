import type { Response, ResponseError, ResponseErrorEvent, ResponseFailedEvent } from 'openai/resources/responses/responses';
import type { UpstreamStreamError } from './upstream-stream-error.ts';

/** The nested error real OpenAI streams carry in `error` events; the SDKs read it. */
interface NestedError {
  readonly type: string;
  readonly code: string;
  readonly message: string;
  readonly param: null;
}

export type FailureErrorEvent = Omit<ResponseErrorEvent, 'sequence_number'> & { readonly error: NestedError };
export type FailureTerminalEvent = Omit<ResponseFailedEvent, 'sequence_number'>;

/** `response` as failed with `error`: status, error, and whatever else the caller settles (output, usage). */
export function buildFailedResponse(response: Response, error: UpstreamStreamError, completedAt: number | null = null): Response {
  return {
    ...response,
    status: 'failed',
    // Real servers use codes beyond the SDK's enum (context_length_exceeded, insufficient_quota); Codex acts on them.
    error: { code: error.code as ResponseError['code'], message: error.message },
    ...(completedAt === null ? {} : { completed_at: completedAt }),
  };
}

/**
 * The two events that end every failed response, wherever it failed (the converter, a background run,
 * a save that could not be made): `error`, then `response.failed` carrying the failed Response.
 * Real OpenAI nests the error (`{"error":{type,code,message,param}}`) and the SDKs read that; the
 * flat spec fields are sent too for schema-validating clients. Unsequenced: the caller numbers them.
 */
export function buildFailureEvents(failed: Response): [FailureErrorEvent, FailureTerminalEvent] {
  const code = failed.error?.code ?? 'server_error';
  const message = failed.error?.message ?? 'The server had an error while processing your request.';
  return [
    { type: 'error', code, message, param: null, error: { type: 'server_error', code, message, param: null } },
    { type: 'response.failed', response: failed },
  ];
}
