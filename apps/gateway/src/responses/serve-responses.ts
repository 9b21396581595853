import type { Request, RequestHandler, Response as ExpressResponse } from 'express';
import type { BreakerTicket } from '@rgw/breaker';
import { InvalidRequestError, NotFoundError, ServiceUnavailableError, isBackendFault } from '@rgw/errors';
import {
  type ChatStreamEvent,
  type Response,
  type ResponseContext,
  type ResponseStreamEvent,
  type ResponsesRequest,
  convertChatCompletionToStreamEvents,
  convertChatStreamToResponsesEvents,
  convertResponsesRequestToChat,
  foldResponseEvents,
  parseResponsesRequest,
} from '@rgw/responses';
import { breakerScopeFor } from '@rgw/breaker';
import { classifyTransportError } from '@rgw/upstream';
import type { GatewayDependencies } from '../gateway-dependencies.ts';
import { readJsonBody } from '../http/read-json-body.ts';
import { writeSseEvent } from '../http/write-sse-event.ts';
import { isClientCausedFailure, mapResponseFailure } from './map-response-failure.ts';
import { peekFirstOutput } from './peek-first-output.ts';
import { classifyUpstreamFailure } from './classify-upstream-failure.ts';
import { observeResponseEvents } from './observe-response-events.ts';
import { beginStoredTurn } from '../stored/begin-stored-turn.ts';

type BreakerOutcome = 'success' | 'failure' | 'ignored';

/** `POST /v1/responses`: validate, translate, call the backend, translate back (SSE or JSON). */
export function serveResponses(deps: GatewayDependencies): RequestHandler {
  return async (req, res) => {
    const startedAt = performance.now();
    const body = await readJsonBody(req, deps.config.MAX_BODY_BYTES);
    const parsed = parseResponsesRequest(body, { maxInputItems: deps.config.MAX_INPUT_ITEMS });

    if (parsed.conversation !== undefined && parsed.conversation !== null) {
      // Silently answering without the conversation's items would lose what the client sent.
      throw new InvalidRequestError('Conversation objects are not supported by this gateway; chain turns with previous_response_id instead.', {
        param: 'conversation',
        code: 'unsupported_parameter',
      });
    }
    // Chain, item references and compaction expanded from the store; null = answered (background run).
    const turn = await beginStoredTurn(deps, req, res, parsed);
    if (turn === null) return;
    const request = turn.request;
    const resolution = deps.catalog.resolve(request.model);
    if (resolution.kind === 'unknown') {
      const hint = resolution.suggestions.length > 0 ? ` Did you mean: ${resolution.suggestions.join(', ')}?` : '';
      throw new NotFoundError(`The model '${request.model}' does not exist.${hint}`, { param: 'model', code: 'model_not_found' });
    }
    const backendModel = resolution.kind === 'found' ? resolution.id : request.model;
    // Metric labels and breaker scopes take catalogue ids only: a client-chosen string is a cardinality attack.
    const knownModel = resolution.kind === 'found' ? resolution.id : null;
    const modelLabel = knownModel ?? 'other';
    // Logs may name what the client asked for (bounded); metrics never do.
    setLogFields(res, { model: knownModel ?? request.model.slice(0, 200), stream: request.stream === true });

    const { chatRequest, toolNames, warnings } = convertResponsesRequestToChat(request, {
      model: backendModel,
      ...(deps.unsealReasoning ? { unsealReasoning: deps.unsealReasoning } : {}),
    });
    if (warnings.length > 0) req.log.warn({ warnings }, 'request fields the backend cannot honour were dropped');

    const scope = breakerScopeFor(deps.upstreamName, knownModel);
    const admission = await deps.breaker.acquire(scope);
    if (!admission.allowed) {
      const seconds = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
      throw new ServiceUnavailableError(`The backend for '${backendModel}' is failing; the circuit breaker is open. Retry in ${seconds}s.`, {
        code: 'circuit_open',
        headers: { 'retry-after': String(seconds) },
      });
    }

    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const context: ResponseContext = {
      responseId: deps.createId('resp'),
      createdAt: deps.now(),
      request,
      model: backendModel,
      toolNames,
      createId: deps.createId,
      now: deps.now,
      ...(deps.sealReasoning && wantsEncryptedReasoning(request) ? { sealReasoning: deps.sealReasoning } : {}),
    };
    const call = {
      apiKey: String(res.locals['apiKey']),
      signal: abort.signal,
      requestId: String(req.id),
      onRetry: (error: Error, attempt: number) => req.log.warn({ attempt, reason: error.message }, 'retrying backend call'),
    };

    let outcome: BreakerOutcome = 'ignored';
    try {
      const upstreamStartedAt = performance.now();
      let upstreamEvents: AsyncIterable<ChatStreamEvent>;
      try {
        upstreamEvents = request.stream
          ? await deps.upstream.streamChat(chatRequest, call)
          : fromArray(convertChatCompletionToStreamEvents(await deps.upstream.completeChat(chatRequest, call)));
      } catch (error) {
        const kind = classifyUpstreamFailure(error);
        if (kind && !abort.signal.aborted) deps.metrics.upstreamErrors.inc({ model: modelLabel, kind });
        throw error;
      }
      const events = observeResponseEvents(turn.persist(convertChatStreamToResponsesEvents(upstreamEvents, context)), {
        metrics: deps.metrics,
        model: modelLabel,
        startedAt,
        upstreamStartedAt,
        onFinished: (fields) => setLogFields(res, fields),
      });
      const terminal = request.stream ? await streamToClient(req, res, events) : await answerWithJson(res, events);
      outcome = terminal.outcome;
    } catch (error) {
      if (abort.signal.aborted || classifyTransportError(error) === 'aborted') {
        outcome = 'ignored';
        if (res.headersSent || res.destroyed) return;
      } else {
        outcome = isBackendFault(error) ? 'failure' : 'ignored';
      }
      throw error;
    } finally {
      if (abort.signal.aborted) deps.metrics.streamDuration.observe({ model: modelLabel, status: 'aborted' }, (performance.now() - startedAt) / 1000);
      await deps.breaker.record(admission.ticket as BreakerTicket, outcome).catch((error: unknown) => req.log.warn({ err: error }, 'breaker record failed'));
    }
  };
}

interface Terminal {
  readonly outcome: BreakerOutcome;
}

function outcomeOf(response: Response | undefined): BreakerOutcome {
  if (!response || response.status !== 'failed') return 'success';
  return isClientCausedFailure(response.error?.code) ? 'ignored' : 'failure';
}

async function streamToClient(req: Request, res: ExpressResponse, events: AsyncIterable<ResponseStreamEvent>): Promise<Terminal> {
  const peeked = await peekFirstOutput(events);
  if (peeked.earlyFailure) {
    const failure = peeked.earlyFailure as unknown as { error?: { code?: string | null; message?: string }; code?: string | null; message?: string };
    const code = failure.error?.code ?? failure.code ?? null;
    const message = failure.error?.message ?? failure.message ?? 'The backend failed.';
    throw mapResponseFailure(code, message);
  }
  res.status(200);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  // nginx and other proxies must not buffer the stream.
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
  let last: Response | undefined;
  const write = async (event: ResponseStreamEvent) => {
    if (isTerminal(event)) last = event.response;
    await writeSseEvent(res, event);
  };
  for (const event of peeked.head) await write(event);
  for (;;) {
    if (res.destroyed) break;
    const next = await peeked.rest.next();
    if (next.done) break;
    await write(next.value);
  }
  res.end();
  if (!last) req.log.error('stream ended without a terminal event');
  return { outcome: outcomeOf(last) };
}

async function answerWithJson(res: ExpressResponse, events: AsyncIterable<ResponseStreamEvent>): Promise<Terminal> {
  const response = await foldResponseEvents(events);
  // A non-streamed failure is an HTTP error, as OpenAI answers it, not a 200 with status "failed".
  if (response.status === 'failed') throw mapResponseFailure(response.error?.code, response.error?.message ?? 'The backend failed.');
  res.status(200).json(response);
  return { outcome: outcomeOf(response) };
}

function isTerminal(event: ResponseStreamEvent): event is Extract<ResponseStreamEvent, { type: 'response.completed' | 'response.incomplete' | 'response.failed' }> {
  return event.type === 'response.completed' || event.type === 'response.incomplete' || event.type === 'response.failed';
}

function wantsEncryptedReasoning(request: ResponsesRequest): boolean {
  // Codex (store:false) asks for it explicitly; with store:true the stored response carries the reasoning.
  return (request.include ?? []).includes('reasoning.encrypted_content') || request.store === false;
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

function setLogFields(res: ExpressResponse, fields: Record<string, unknown>): void {
  res.locals['logFields'] = { ...(res.locals['logFields'] as Record<string, unknown> | undefined), ...fields };
}
