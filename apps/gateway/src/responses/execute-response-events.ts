import type { Logger } from 'pino';
import { breakerScopeFor, type BreakerOutcome } from '@rgw/breaker';
import { NotFoundError, ServiceUnavailableError, isBackendFault } from '@rgw/errors';
import {
  type ChatStreamEvent,
  type Response,
  type ResponseContext,
  type ResponseStreamEvent,
  type ResponsesRequest,
  convertChatCompletionToStreamEvents,
  convertChatStreamToResponsesEvents,
  convertResponsesRequestToChat,
} from '@rgw/responses';
import { classifyTransportError } from '@rgw/upstream';
import type { GatewayDependencies } from '../gateway-dependencies.ts';
import { classifyUpstreamFailure } from './classify-upstream-failure.ts';
import { isClientCausedFailure } from './map-response-failure.ts';
import { createResponseObserver } from './observe-response-events.ts';

export interface ExecuteOptions {
  readonly apiKey: string;
  /** Aborts the backend call: the client went away, a cancel, or shutdown. */
  readonly signal: AbortSignal;
  readonly responseId: string;
  /** Unix seconds. */
  readonly createdAt: number;
  readonly log: Logger;
  readonly requestId?: string;
  /**
   * Ask the backend for a stream (default) or for one completion. Streaming clients and detached runs
   * stream (idle timeouts apply per chunk); a non-streamed client gets a non-streamed backend call,
   * which costs the backend and us less, and runs through the same state machine.
   */
  readonly upstreamStream?: boolean;
  /** performance.now() when the request arrived, for time to first token; default: now. */
  readonly startedAt?: number;
  /** Log fields of the finished response (status, ttft, tokens). */
  readonly onFinished?: (fields: Record<string, unknown>) => void;
  /**
   * Awaited with the final Response before the terminal event is passed on: storing it there means a
   * client that sends its next turn the moment it reads `response.completed` finds this one stored.
   */
  readonly beforeTerminal?: (response: Response) => Promise<void>;
}

/**
 * The one pipeline behind every answer — foreground streams, JSON answers, background runs and
 * compaction: resolve the model → convert the request → breaker → backend → converter → metrics.
 * Lazy: nothing happens before the first `next()`, and a refusal (unknown model, open breaker, a
 * backend error before its first byte) is thrown from it as a GatewayError, while the caller can
 * still answer with an HTTP status. The breaker hears the outcome exactly once, also when the
 * consumer stops early (a client that disconnects: `ignored`).
 */
export async function* executeResponseEvents(deps: GatewayDependencies, request: ResponsesRequest, options: ExecuteOptions): AsyncGenerator<ResponseStreamEvent> {
  const startedAt = options.startedAt ?? performance.now();
  const resolution = deps.catalog.resolve(request.model);
  if (resolution.kind === 'unknown') {
    const hint = resolution.suggestions.length > 0 ? ` Did you mean: ${resolution.suggestions.join(', ')}?` : '';
    throw new NotFoundError(`The model '${request.model}' does not exist.${hint}`, { param: 'model', code: 'model_not_found' });
  }
  const backendModel = resolution.kind === 'found' ? resolution.id : request.model;
  // Metric labels and breaker scopes take catalogue ids only: a client-chosen string is a cardinality attack.
  const knownModel = resolution.kind === 'found' ? resolution.id : null;
  const modelLabel = knownModel ?? 'other';

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
  const call = {
    apiKey: options.apiKey,
    signal: options.signal,
    ...(options.requestId ? { requestId: options.requestId } : {}),
    onRetry: (error: Error, attempt: number) => options.log.warn({ attempt, reason: error.message }, 'retrying backend call'),
  };

  let outcome: BreakerOutcome = 'ignored';
  try {
    const upstreamStartedAt = performance.now();
    let upstreamEvents: AsyncIterable<ChatStreamEvent>;
    try {
      upstreamEvents = options.upstreamStream === false
        ? fromArray(convertChatCompletionToStreamEvents(await deps.upstream.completeChat(chatRequest, call)))
        : await deps.upstream.streamChat(chatRequest, call);
    } catch (error) {
      const kind = classifyUpstreamFailure(error);
      if (kind && !options.signal.aborted) deps.metrics.upstreamErrors.inc({ model: modelLabel, kind });
      throw error;
    }
    const observe = createResponseObserver({
      metrics: deps.metrics,
      model: modelLabel,
      startedAt,
      upstreamStartedAt,
      onFinished: (fields) => options.onFinished?.({ model: modelLabel === 'other' ? undefined : modelLabel, ...fields }),
    });
    for await (const event of convertChatStreamToResponsesEvents(upstreamEvents, context)) {
      observe(event);
      if (isTerminal(event)) {
        outcome = outcomeOf(event.response);
        if (options.beforeTerminal) await options.beforeTerminal(event.response);
      }
      // The consumer may stop at the `error` event (an early failure it turns into an HTTP error).
      else if (event.type === 'error') outcome = isClientCausedFailure(readErrorCode(event)) ? 'ignored' : 'failure';
      yield event;
    }
  } catch (error) {
    outcome = options.signal.aborted || classifyTransportError(error) === 'aborted' ? 'ignored' : isBackendFault(error) ? 'failure' : 'ignored';
    throw error;
  } finally {
    if (options.signal.aborted) deps.metrics.streamDuration.observe({ model: modelLabel, status: 'aborted' }, (performance.now() - startedAt) / 1000);
    await deps.breaker.record(admission.ticket, outcome).catch((error: unknown) => options.log.warn({ err: error }, 'breaker record failed'));
  }
}

export function isTerminal(event: ResponseStreamEvent): event is Extract<ResponseStreamEvent, { type: 'response.completed' | 'response.incomplete' | 'response.failed' }> {
  return event.type === 'response.completed' || event.type === 'response.incomplete' || event.type === 'response.failed';
}

/** What a finished response tells the breaker: only backend-caused failures count. */
function outcomeOf(response: Response): BreakerOutcome {
  if (response.status !== 'failed') return 'success';
  return isClientCausedFailure(response.error?.code) ? 'ignored' : 'failure';
}

function readErrorCode(event: Extract<ResponseStreamEvent, { type: 'error' }>): string | null {
  const nested = (event as { error?: { code?: string | null } }).error;
  return nested?.code ?? event.code ?? null;
}

/** Codex (store:false) asks for it explicitly; store:false needs it to round-trip at all. */
function wantsEncryptedReasoning(request: ResponsesRequest): boolean {
  return (request.include ?? []).includes('reasoning.encrypted_content') || request.store === false;
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
