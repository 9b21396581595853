import type { RequestHandler } from 'express';
import type { StoredItem } from '@rgw/response-store';
import { parseResponsesRequest } from '@rgw/responses';
import { buildSummaryRequest, sealCompactionSummary } from '../conversation/compaction-summary.ts';
import { prepareConversation } from '../conversation/prepare-conversation.ts';
import { readJsonBody } from '../http/read-json-body.ts';
import { createCompactionSink } from '../sinks/create-compaction-sink.ts';
import { runTurn } from '../turns/run-turn.ts';
import { abortOnClose } from './abort-on-close.ts';
import type { RouteDependencies } from './route-dependencies.ts';

/**
 * `POST /v1/responses/compact` (Codex's remote compaction, responses-api.md §5): the backend
 * summarises the conversation (`input`, or the stored chain of `previous_response_id`), and the
 * answer is every user message of the conversation followed by one `compaction` item whose
 * `encrypted_content` is the summary sealed under the gateway key. Codex replaces its history with
 * that output; when it comes back as input, the compaction item is expanded into a user message
 * carrying the summary (prepare-conversation.ts). Nothing is stored.
 */
export function compactResponse(deps: RouteDependencies): RequestHandler {
  return async (req, res) => {
    const body = await readJsonBody(req, deps.config.MAX_BODY_BYTES);
    // `model` is required here (400 when missing), as the API and the Open Responses suite expect.
    const request = parseResponsesRequest(body, { maxInputItems: deps.config.MAX_INPUT_ITEMS });
    const { apiKey, owner, requestId } = res.locals;
    const conversation = await prepareConversation(request, {
      store: deps.stored.store,
      owner,
      createId: deps.createId,
      unseal: deps.unsealReasoning,
      log: req.log,
    });
    const summaryRequest = buildSummaryRequest(request, conversation.request.input as readonly unknown[]);
    const sink = createCompactionSink();
    const turn = {
      request: summaryRequest,
      apiKey,
      responseId: deps.createId('resp'),
      createdAt: deps.now(),
      signal: abortOnClose(res, deps.turnShutdown),
      log: req.log,
      requestId,
    };
    await runTurn(deps, turn, sink);
    const summary = sink.summary();
    res.status(200).json({
      id: deps.createId('resp'),
      object: 'response.compaction',
      created_at: deps.now(),
      output: [
        ...conversation.conversationItems.filter(isUserMessage),
        { id: deps.createId('cmp'), type: 'compaction', encrypted_content: sealCompactionSummary(summary.text, deps.sealReasoning) },
      ],
      usage: summary.usage,
    });
  };
}

function isUserMessage(item: StoredItem): boolean {
  return item.type === 'message' && item['role'] === 'user';
}
