import type { Logger } from 'pino';
import { breakerScopeFor, type BreakerOutcome } from '@rgw/breaker';
import { NotFoundError, ServiceUnavailableError, isBackendFault } from '@rgw/errors';
import {
  type ResponseContext,
  type ResponseStreamEvent,
  type ResponsesRequest,
  convertChatStreamToResponsesEvents,
  convertResponsesRequestToChat,
} from '@rgw/responses';
import { classifyTransportError } from '@rgw/upstream';
import type { GatewayDependencies } from '../gateway-dependencies.ts';
import { isClientCausedFailure } from '../responses/map-response-failure.ts';
import { observeResponseEvents } from '../responses/observe-response-events.ts';

export interface ExecuteOptions {
  readonly apiKey: string;
  /** Aborts the backend call (a cancel, or shutdown). */
  readonly signal: AbortSignal;
  readonly responseId: string;
  /** Unix seconds. */
  readonly createdAt: number;
  readonly log: Logger;
  readonly requestId?: string;
}

/**
 * One backend call as Responses events, without an HTTP client attached: what background runs and
 * compaction use. Same steps as `POST /v1/responses` (model resolve → convert → breaker → upstream
 * stream → converter → metrics), always streaming from the backend so idle timeouts apply per chunk.
 * Lazy: nothing happens before the first `next()`; a refusal (unknown model, open breaker, backend
 * error before the first byte) is thrown from it as a GatewayError.
 */
export async function* executeResponseEvents(
  deps: GatewayDependencies,
  request: ResponsesRequest,
  options: ExecuteOptions,
): AsyncGenerator<ResponseStreamEvent> {
  const startedAt = performance.now();
  const resolution = deps.catalog.resolve(request.model);
  if (resolution.kind === 'unknown') {
    throw new NotFoundError(`The model '${request.model}' does not exist.`, { param: 'model', code: 'model_not_found' });
  }
  const backendModel = resolution.kind === 'found' ? resolution.id : request.model;
  const knownModel = resolution.kind === 'found' ? resolution.id : null;
  const { chatRequest, toolNames, warnings } = convertResponsesRequestToChat(request, {
    model: backendModel,
    ...(deps.unsealReasoning ? { unsealReasoning: deps.unsealReasoning } : {}),
  });
  if (warnings.length > 0) options.log.warn({ warnings }, 'request fields the backend cannot honour were dropped');

  const admission = await deps.breaker.acquire(breakerScopeFor(deps.upstreamName, knownModel));
  if (!admission.allowed) {
    const seconds = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
    throw new ServiceUnavailableError(`The backend for '${backendModel}' is failing; the circuit breaker is open. Retry in ${seconds}s.`, {
      code: 'circuit_open',
      headers: { 'retry-after': String(seconds) },
    });
  }
  const context: ResponseContext = {
    responseId: options.responseId,
    createdAt: options.createdAt,
    request,
    model: backendModel,
    toolNames,
    createId: deps.createId,
    now: deps.now,
    ...(deps.sealReasoning && wantsEncryptedReasoning(request) ? { sealReasoning: deps.sealReasoning } : {}),
  };
  let outcome: BreakerOutcome = 'ignored';
  try {
    const upstreamStartedAt = performance.now();
    const upstreamEvents = await deps.upstream.streamChat(
      chatRequest,
      { apiKey: options.apiKey, signal: options.signal, ...(options.requestId ? { requestId: options.requestId } : {}) },
    );
    const events = observeResponseEvents(convertChatStreamToResponsesEvents(upstreamEvents, context), {
      metrics: deps.metrics,
      model: knownModel ?? 'other',
      startedAt,
      upstreamStartedAt,
      onFinished: (fields) => options.log.info(fields, 'background response finished'),
    });
    for await (const event of events) {
      if (event.type === 'response.completed' || event.type === 'response.incomplete') outcome = 'success';
      if (event.type === 'response.failed') outcome = isClientCausedFailure(event.response.error?.code) ? 'ignored' : 'failure';
      yield event;
    }
  } catch (error) {
    outcome = options.signal.aborted || classifyTransportError(error) === 'aborted' ? 'ignored' : isBackendFault(error) ? 'failure' : 'ignored';
    throw error;
  } finally {
    await deps.breaker.record(admission.ticket, outcome).catch((error: unknown) => options.log.warn({ err: error }, 'breaker record failed'));
  }
}

/** Same rule as the foreground path: Codex asks for it explicitly; store:false needs it to round-trip. */
function wantsEncryptedReasoning(request: ResponsesRequest): boolean {
  return (request.include ?? []).includes('reasoning.encrypted_content') || request.store === false;
}
