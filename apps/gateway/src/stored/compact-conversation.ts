import type { Request, RequestHandler } from 'express';
import { UpstreamError } from '@rgw/errors';
import type { StoredItem } from '@rgw/response-store';
import { type Response, type ResponsesRequest, parseResponsesRequest } from '@rgw/responses';
import type { GatewayDependencies } from '../gateway-dependencies.ts';
import { readJsonBody } from '../http/read-json-body.ts';
import { mapResponseFailure } from '../responses/map-response-failure.ts';
import { sealCompactionSummary } from './compaction-summary.ts';
import { executeResponseEvents, isTerminal } from '../responses/execute-response.ts';
import { prepareConversation } from './prepare-conversation.ts';
import type { StoredResponses } from './stored-responses.ts';

/** Codex's own hand-off instruction for local compaction, reworded; the backend writes the summary. */
export const COMPACTION_PROMPT = [
  'You are performing a CONTEXT CHECKPOINT COMPACTION. Create a handoff summary for another LLM that will resume the task.',
  'Include: current progress and key decisions made; important context, constraints, or user preferences; what remains to be done (clear next steps); any critical data, examples, or references needed to continue.',
  'Be concise, structured, and focused on helping the next LLM seamlessly continue the work. Answer with the summary only.',
].join('\n');

/**
 * `POST /v1/responses/compact` (Codex's remote compaction, responses-api.md §5): the backend
 * summarises the conversation (`input`, or the stored chain of `previous_response_id`), and the
 * answer is every user message of the conversation followed by one `compaction` item whose
 * `encrypted_content` is the summary sealed under the gateway key. Codex replaces its history with
 * that output; when it comes back as input, the compaction item is expanded into a user message
 * carrying the summary (prepare-conversation.ts). Nothing is stored.
 */
export function compactConversation(deps: GatewayDependencies, stored: StoredResponses): RequestHandler {
  return async (req, res) => {
    const body = await readJsonBody(req, deps.config.MAX_BODY_BYTES);
    // `model` is required here (400 when missing), as the API and the Open Responses suite expect.
    const request = parseResponsesRequest(body, { maxInputItems: deps.config.MAX_INPUT_ITEMS });
    const apiKey = String(res.locals['apiKey']);
    const prepared = await prepareConversation(request, {
      store: stored.store,
      owner: stored.ownerOf(apiKey),
      createId: deps.createId,
      unseal: deps.unsealReasoning,
      log: req.log,
    });
    const summaryRequest = {
      model: request.model,
      instructions: request.instructions ?? null,
      input: [...(prepared.request.input as readonly unknown[]), { type: 'message', role: 'user', content: COMPACTION_PROMPT }],
      tools: request.tools ?? null,
      tool_choice: request.tools && request.tools.length > 0 ? 'none' : null,
      store: false,
      stream: true,
    } as ResponsesRequest;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const summary = await summarise(deps, req, summaryRequest, apiKey, abort.signal);
    const seal = deps.sealReasoning;
    if (!seal) throw new UpstreamError('Compaction needs the reasoning sealer, which is not configured.', { code: 'server_error' });
    res.status(200).json({
      id: deps.createId('resp'),
      object: 'response.compaction',
      created_at: deps.now(),
      output: [
        ...prepared.conversationItems.filter(isUserMessage),
        { id: deps.createId('cmp'), type: 'compaction', encrypted_content: sealCompactionSummary(summary.text, seal) },
      ],
      usage: summary.usage,
    });
  };
}

async function summarise(
  deps: GatewayDependencies,
  req: Request,
  request: ResponsesRequest,
  apiKey: string,
  signal: AbortSignal,
): Promise<{ text: string; usage: Response['usage'] }> {
  // Streamed from the backend, as before: a long summary by a reasoning model is then bounded by the
  // idle timeout between chunks, not by the time to a whole completion (and no proxy on the way,
  // such as a CDN with a 100 s limit, sees a silent connection).
  let final: Response | undefined;
  const events = executeResponseEvents(deps, request, {
    apiKey,
    signal,
    responseId: deps.createId('resp'),
    createdAt: deps.now(),
    log: req.log,
    requestId: String(req.id),
  });
  for await (const event of events) if (isTerminal(event)) final = event.response;
  if (!final) throw mapResponseFailure('server_error', 'The backend answer ended without a result.');
  if (final.status === 'failed') throw mapResponseFailure(final.error?.code, final.error?.message ?? 'The backend failed.');
  const text = final.output
    .flatMap((item) => (item.type === 'message' ? item.content : []))
    .map((part) => (part.type === 'output_text' ? part.text : ''))
    .join('')
    .trim();
  if (text === '') throw new UpstreamError('The backend returned an empty summary.', { code: 'server_error' });
  return { text, usage: final.usage };
}

function isUserMessage(item: StoredItem): boolean {
  return item.type === 'message' && item['role'] === 'user';
}
