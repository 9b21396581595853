import type { Logger } from 'pino';
import { breakerScopeFor, type BreakerOutcome } from '@rgw/breaker';
import { GatewayError, NotFoundError, ServiceUnavailableError, UpstreamError, isBackendFault } from '@rgw/errors';
import {
  type ChatCompletionRequest,
  type Response,
  type ResponseContext,
  type ResponseStreamEvent,
  type ResponsesRequest,
  convertChatCompletionToStreamEvents,
  convertChatEventsToResponsesEvents,
  convertChatStreamToResponsesEvents,
  convertResponsesRequestToChat,
} from '@rgw/responses';
import { type UpstreamCallOptions, classifyTransportError } from '@rgw/upstream';
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
  /** performance.now() when the request arrived, for time to first token; default: now. */
  readonly startedAt?: number;
  /** Log fields of the finished response (status, ttft, tokens). */
  readonly onFinished?: (fields: Record<string, unknown>) => void;
  /**
   * Awaited with the final Response (and, for a JSON answer, its serialised text) before the terminal
   * event is passed on: storing it there means a client that sends its next turn the moment it reads
   * `response.completed` finds this one stored.
   */
  readonly beforeTerminal?: (response: Response, responseJson?: string) => Promise<void>;
}

/**
 * The pipeline behind every streamed answer — foreground streams, background runs and compaction (JSON
 * answers take executeResponse, the same steps around one completion): resolve the model → convert
 * the request → breaker → backend → converter → metrics. Streaming, idle timeouts apply per chunk.
 * Lazy: nothing happens before the first `next()`, and a refusal (unknown model, open breaker, a
 * backend error before its first byte) is thrown from it as a GatewayError, while the caller can
 * still answer with an HTTP status. The breaker hears the outcome exactly once, also when the
 * consumer stops early (a client that disconnects: `ignored`).
 */
export async function* executeResponseEvents(
  deps: GatewayDependencies,
  request: ResponsesRequest,
  options: ExecuteOptions,
): AsyncGenerator<ResponseStreamEvent> {
  const run = await admitExecution(deps, request, options);
  try {
    const upstreamStartedAt = performance.now();
    const chunks = await run.callUpstream(() => deps.upstream.streamChat(run.chatRequest, run.call));
    const pass = run.createTap(upstreamStartedAt);
    for await (const event of convertChatStreamToResponsesEvents(chunks, run.context)) {
      // Awaited only when there is something to wait for (the store, before the terminal event):
      // an `await` of nothing still costs every chunk a turn of the microtask queue.
      const stored = pass(event);
      if (stored) {
        const failure = await stored.then(
          () => null,
          (error: unknown) => error,
        );
        // Not stored (Redis down or full, no replica acknowledgement): never announce it completed.
        if (failure !== null && isTerminal(event)) {
          yield* storeFailureEvents(event, failure);
          return;
        }
      }
      yield event;
    }
  } catch (error) {
    run.failWith(error);
    throw error;
  } finally {
    await run.settle();
  }
}

export interface ExecutedResponse {
  readonly response: Response;
  /** `JSON.stringify(response)`: serialised once, for the answer and the store. */
  readonly json: string;
}

/**
 * The JSON answer: one non-streamed backend call (cheaper for the backend and for us) through the
 * same state machine, converted in one synchronous step. Resolves with the terminal event's Response,
 * stored before it is returned; throws the same refusals as executeResponseEvents.
 */
export async function executeResponse(deps: GatewayDependencies, request: ResponsesRequest, options: ExecuteOptions): Promise<ExecutedResponse> {
  const run = await admitExecution(deps, request, options);
  try {
    const upstreamStartedAt = performance.now();
    const completion = await run.callUpstream(() => deps.upstream.completeChat(run.chatRequest, run.call));
    const events = convertChatEventsToResponsesEvents(convertChatCompletionToStreamEvents(completion), run.context);
    const terminal = events.at(-1);
    // The converter always ends with a terminal event.
    if (terminal === undefined || !isTerminal(terminal)) throw new UpstreamError('The response ended without a terminal event.');
    const json = JSON.stringify(terminal.response);
    const pass = run.createTap(upstreamStartedAt);
    for (const event of events) {
      const stored = pass(event, json);
      if (stored) await stored;
    }
    return { response: terminal.response, json };
  } catch (error) {
    run.failWith(error);
    throw error;
  } finally {
    await run.settle();
  }
}

interface Execution {
  readonly chatRequest: ChatCompletionRequest;
  readonly context: ResponseContext;
  readonly call: UpstreamCallOptions;
  /** Runs the backend call, counting a refusal in the upstream error metric. */
  callUpstream<T>(send: () => Promise<T>): Promise<T>;
  /** The per-event tap: metrics and log fields, the breaker's outcome, the store before the terminal event. */
  createTap(upstreamStartedAt: number): (event: ResponseStreamEvent, responseJson?: string) => Promise<void> | undefined;
  /** What a thrown error tells the breaker. */
  failWith(error: unknown): void;
  /** Tells the breaker the outcome, once. */
  settle(): Promise<void>;
}

/** Everything before the backend call, shared by both drivers; throws GatewayErrors the caller answers with. */
async function admitExecution(deps: GatewayDependencies, request: ResponsesRequest, options: ExecuteOptions): Promise<Execution> {
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
  const call: UpstreamCallOptions = {
    apiKey: options.apiKey,
    signal: options.signal,
    ...(options.requestId ? { requestId: options.requestId } : {}),
    onRetry: (error: Error, attempt: number) => options.log.warn({ attempt, reason: error.message }, 'retrying backend call'),
  };

  let outcome: BreakerOutcome = 'ignored';
  return {
    chatRequest,
    context,
    call,
    async callUpstream(send) {
      try {
        return await send();
      } catch (error) {
        const kind = classifyUpstreamFailure(error);
        if (kind && !options.signal.aborted) deps.metrics.upstreamErrors.inc({ model: modelLabel, kind });
        throw error;
      }
    },
    createTap(upstreamStartedAt) {
      const observe = createResponseObserver({
        metrics: deps.metrics,
        model: modelLabel,
        startedAt,
        upstreamStartedAt,
        onFinished: (fields) => options.onFinished?.({ model: modelLabel === 'other' ? undefined : modelLabel, ...fields }),
      });
      return (event, responseJson) => {
        observe(event);
        if (isTerminal(event)) {
          outcome = outcomeOf(event.response);
          return options.beforeTerminal?.(event.response, responseJson);
        }
        // The consumer may stop at the `error` event (an early failure it turns into an HTTP error).
        if (event.type === 'error') outcome = isClientCausedFailure(readErrorCode(event)) ? 'ignored' : 'failure';
        return undefined;
      };
    },
    failWith(error) {
      outcome = options.signal.aborted || classifyTransportError(error) === 'aborted' ? 'ignored' : isBackendFault(error) ? 'failure' : 'ignored';
    },
    async settle() {
      if (options.signal.aborted) deps.metrics.streamDuration.observe({ model: modelLabel, status: 'aborted' }, (performance.now() - startedAt) / 1000);
      await deps.breaker.record(admission.ticket, outcome).catch((error: unknown) => options.log.warn({ err: error }, 'breaker record failed'));
    },
  };
}

/**
 * What a stream ends with when its terminal event could not be stored: the API's `error` event and
 * `response.failed` carrying the store's code (store_unavailable), in place of the terminal event.
 */
function* storeFailureEvents(
  terminal: Extract<ResponseStreamEvent, { type: 'response.completed' | 'response.incomplete' | 'response.failed' }>,
  failure: unknown,
) {
  const error =
    failure instanceof GatewayError ? failure : new ServiceUnavailableError('The response store is unavailable; retry shortly.', { code: 'store_unavailable' });
  const code = error.code ?? 'store_unavailable';
  yield {
    type: 'error',
    code,
    message: error.message,
    param: null,
    error: { type: error.type, code, message: error.message, param: null },
    sequence_number: terminal.sequence_number,
  } as unknown as ResponseStreamEvent;
  yield {
    type: 'response.failed',
    response: { ...terminal.response, status: 'failed', error: { code, message: error.message } },
    sequence_number: terminal.sequence_number + 1,
  } as unknown as ResponseStreamEvent;
}

export function isTerminal(
  event: ResponseStreamEvent,
): event is Extract<ResponseStreamEvent, { type: 'response.completed' | 'response.incomplete' | 'response.failed' }> {
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
