import type { RequestHandler } from 'express';
import { prepareConversation } from '../conversation/prepare-conversation.ts';
import { ClientSendTimeout } from '../http/client-send-timeout.ts';
import { readJsonBody } from '../http/read-json-body.ts';
import { addLogFields } from '../http/request-context.ts';
import { createJsonSink } from '../sinks/create-json-sink.ts';
import { createSseSink } from '../sinks/create-sse-sink.ts';
import { startBackgroundResponse } from './start-background-response.ts';
import { abortOnClose } from './abort-on-close.ts';
import { readCreateRequest } from './read-create-request.ts';
import type { RouteDependencies } from './route-dependencies.ts';
import { runResponseTurn } from './run-response-turn.ts';

/**
 * `POST /v1/responses`: parse, rebuild the conversation (previous_response_id, item references,
 * compactions), then run the turn into the client's transport: SSE for `stream: true`, JSON
 * otherwise; `background: true` is queued and answered at once. A trailing `compaction_trigger`
 * (Codex's remote compaction v2) is answered with one `compaction` item.
 */
export function createResponse(deps: RouteDependencies): RequestHandler {
  return async (req, res) => {
    const startedAt = performance.now();
    const body = await readJsonBody(req, deps.config.MAX_BODY_BYTES);
    const { request, compactionTrigger } = readCreateRequest(body, deps.config.MAX_INPUT_ITEMS);
    // Logs may name what the client asked for (bounded); metrics never do.
    addLogFields(res, { model: request.model.slice(0, 200), stream: request.stream === true });
    const { apiKey, owner, requestId } = res.locals;
    const { store } = deps.stored;
    // Redis known to be failing: refuse a request that must be stored before it costs a backend call.
    if (request.store !== false) store.assertWritable?.();
    const conversation = await prepareConversation(request, { store, owner, createId: deps.createId, unseal: deps.unsealReasoning, log: req.log });
    if (request.background) {
      await startBackgroundResponse(deps, req, res, conversation);
      return;
    }
    const signal = abortOnClose(res, deps.turnShutdown);
    const turn = {
      request: conversation.request,
      apiKey,
      responseId: deps.createId('resp'),
      createdAt: deps.now(),
      signal,
      log: req.log,
      requestId,
      startedAt,
      onFinished: (fields: Record<string, string | number | boolean | null | undefined>) => addLogFields(res, fields),
      ...(request.store === false ? {} : { persist: { store, owner, inputItems: conversation.inputItems, ancestorIds: conversation.ancestorIds } }),
    };
    try {
      const sink = request.stream ? createSseSink(res, { sendTimeoutMs: deps.config.CLIENT_SEND_TIMEOUT_MS }) : createJsonSink(res);
      await runResponseTurn(deps, turn, sink, compactionTrigger);
    } catch (error) {
      // A client that stopped reading: its connection is closed, the backend call aborted; as for a
      // client that left, nothing is stored (there is no final Response) and the breaker heard "ignored".
      if (error instanceof ClientSendTimeout) {
        deps.metrics.clientSendTimeouts.inc({ transport: 'sse' });
        req.log.warn({ request_id: requestId, timeout_ms: error.timeoutMs }, 'client stopped reading its stream; closed it and aborted the backend call');
        return;
      }
      // The client left: nobody to answer; the breaker heard "ignored".
      if (signal.aborted && (res.headersSent || res.destroyed)) return;
      throw error;
    }
  };
}
