import type { Request, Response as ExpressResponse } from 'express';
import { InvalidRequestError } from '@rgw/errors';
import type { Response, ResponsesRequest } from '@rgw/responses';
import type { GatewayDependencies } from '../gateway-dependencies.ts';
import { saveResponse } from './save-response.ts';
import { prepareConversation } from './prepare-conversation.ts';
import { serveBackgroundResponse } from './serve-background-response.ts';

export interface StoredTurn {
  /** The request to convert: earlier turns, resolved item references and expanded compactions in `input`. */
  readonly request: ResponsesRequest;
  /** Stores the final Response; the pipeline awaits it before the terminal event goes out. Absent when nothing is kept (store: false, no store). */
  readonly saveFinal?: (response: Response, responseJson?: string) => Promise<void>;
}

/**
 * The stored-response part of `POST /v1/responses`, called right after the body is parsed.
 * Returns null when it answered the request itself (`background: true`: queued and running
 * detached). Without a store (deps.stored unset) it keeps the stateless behaviour: chaining is
 * the API's 400 `previous_response_not_found`, background runs in the foreground, nothing is kept.
 */
export async function beginStoredTurn(deps: GatewayDependencies, req: Request, res: ExpressResponse, request: ResponsesRequest): Promise<StoredTurn | null> {
  const stored = deps.stored;
  if (!stored) {
    if (request.previous_response_id) {
      throw new InvalidRequestError(`Previous response with id '${request.previous_response_id}' not found.`, {
        param: 'previous_response_id',
        code: 'previous_response_not_found',
      });
    }
    return { request };
  }
  // Redis known to be failing: refuse a request that must be stored before it costs a backend call.
  if (request.store !== false) stored.store.assertWritable?.();
  const owner = stored.ownerOf(String(res.locals['apiKey']));
  const prepared = await prepareConversation(request, { store: stored.store, owner, createId: deps.createId, unseal: deps.unsealReasoning, log: req.log });
  if (request.background) {
    await serveBackgroundResponse(deps, stored, req, res, prepared);
    return null;
  }
  if (request.store === false) return { request: prepared.request };
  return {
    request: prepared.request,
    saveFinal: (response, responseJson) =>
      saveResponse(response, {
        store: stored.store,
        owner,
        inputItems: prepared.inputItems,
        ancestorIds: prepared.ancestorIds,
        log: req.log,
        ...(responseJson === undefined ? {} : { responseJson }),
      }),
  };
}
