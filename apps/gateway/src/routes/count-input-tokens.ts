import type { RequestHandler } from 'express';
import { convertResponsesRequestToChat, parseResponsesRequest } from '@rgw/responses';
import { estimateInputTokens } from '../conversation/estimate-input-tokens.ts';
import { prepareConversation } from '../conversation/prepare-conversation.ts';
import { readJsonBody } from '../http/read-json-body.ts';
import type { RouteDependencies } from './route-dependencies.ts';

/** `POST /v1/responses/input_tokens`: the token count of the Chat request the gateway would send. */
export function countInputTokens(deps: RouteDependencies): RequestHandler {
  return async (req, res) => {
    const body = await readJsonBody(req, deps.config.MAX_BODY_BYTES);
    // Every field is optional here, `model` included; the count does not depend on it.
    const withModel = typeof body === 'object' && body !== null && !Array.isArray(body) ? { model: 'unknown', ...body } : body;
    const request = parseResponsesRequest(withModel, { maxInputItems: deps.config.MAX_INPUT_ITEMS });
    const conversation = await prepareConversation(request, {
      store: deps.stored.store,
      owner: res.locals.owner,
      createId: deps.createId,
      unseal: deps.unsealReasoning,
      log: req.log,
    });
    const { chatRequest } = convertResponsesRequestToChat(conversation.request, { model: request.model, unsealReasoning: deps.unsealReasoning });
    res.json({ object: 'response.input_tokens', input_tokens: await estimateInputTokens(chatRequest) });
  };
}
