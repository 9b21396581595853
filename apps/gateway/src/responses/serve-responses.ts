import type { Request, RequestHandler, Response as ExpressResponse } from 'express';
import { InvalidRequestError } from '@rgw/errors';
import { type Response, type ResponseStreamEvent, parseResponsesRequest } from '@rgw/responses';
import type { GatewayDependencies } from '../gateway-dependencies.ts';
import { readJsonBody } from '../http/read-json-body.ts';
import { writeSseEvent } from '../http/write-sse-event.ts';
import { beginStoredTurn } from '../stored/begin-stored-turn.ts';
import { type ExecuteOptions, type ExecutedResponse, executeResponse, executeResponseEvents, isTerminal } from './execute-response.ts';
import { mapResponseFailure } from './map-response-failure.ts';
import { peekFirstOutput } from './peek-first-output.ts';

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
    // Logs may name what the client asked for (bounded); metrics never do.
    setLogFields(res, { model: parsed.model.slice(0, 200), stream: parsed.stream === true });
    // Chain, item references and compaction expanded from the store; null = answered (background run).
    const turn = await beginStoredTurn(deps, req, res, parsed);
    if (turn === null) return;

    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const options: ExecuteOptions = {
      apiKey: String(res.locals['apiKey']),
      signal: abort.signal,
      responseId: deps.createId('resp'),
      createdAt: deps.now(),
      log: req.log,
      requestId: String(req.id),
      startedAt,
      onFinished: (fields) => setLogFields(res, fields),
      ...(turn.saveFinal ? { beforeTerminal: turn.saveFinal } : {}),
    };
    try {
      if (turn.request.stream) await streamToClient(req, res, executeResponseEvents(deps, turn.request, options));
      else answerWithJson(res, await executeResponse(deps, turn.request, options));
    } catch (error) {
      // The client left: nobody to answer; the breaker already heard "ignored".
      if (abort.signal.aborted && (res.headersSent || res.destroyed)) return;
      throw error;
    }
  };
}

async function streamToClient(req: Request, res: ExpressResponse, events: AsyncIterable<ResponseStreamEvent>): Promise<void> {
  const peeked = await peekFirstOutput(events);
  try {
    if (peeked.earlyFailure) {
      const failure = peeked.earlyFailure as unknown as { error?: { code?: string | null; message?: string }; code?: string | null; message?: string };
      throw mapResponseFailure(failure.error?.code ?? failure.code ?? null, failure.error?.message ?? failure.message ?? 'The backend failed.');
    }
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache');
    // nginx and other proxies must not buffer the stream.
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
    let terminal: Response | undefined;
    for (const event of peeked.head) {
      if (isTerminal(event)) terminal = event.response;
      const draining = writeSseEvent(res, event);
      if (draining) await draining;
    }
    while (!res.destroyed) {
      const next = await peeked.rest.next();
      if (next.done) break;
      if (isTerminal(next.value)) terminal = next.value.response;
      const draining = writeSseEvent(res, next.value);
      if (draining) await draining;
    }
    res.end();
    if (!terminal && !res.destroyed) req.log.error('stream ended without a terminal event');
  } finally {
    // Stops the pipeline when we stop early (client gone, early failure): aborts the backend call
    // and lets the breaker hear the outcome.
    await peeked.rest.return?.(undefined);
  }
}

function answerWithJson(res: ExpressResponse, { response, json }: ExecutedResponse): void {
  // A non-streamed failure is an HTTP error, as OpenAI answers it, not a 200 with status "failed".
  if (response.status === 'failed') throw mapResponseFailure(response.error?.code, response.error?.message ?? 'The backend failed.');
  // Written directly rather than through express's res.json: its content-type and freshness
  // handling is a tenth of a non-streamed request's CPU, for an answer whose headers are known.
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

function setLogFields(res: ExpressResponse, fields: Record<string, unknown>): void {
  res.locals['logFields'] = { ...(res.locals['logFields'] as Record<string, unknown> | undefined), ...fields };
}
