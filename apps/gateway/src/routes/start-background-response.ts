import type { Request, Response as ExpressResponse } from 'express';
import { InvalidRequestError } from '@rgw/errors';
import type { PreparedConversation } from '../conversation/prepare-conversation.ts';
import { addLogFields } from '../http/request-context.ts';
import type { RouteDependencies } from './route-dependencies.ts';
import { writeEventStream } from '../sinks/write-event-stream.ts';
import { resolveCatalogModel } from '../turns/resolve-catalog-model.ts';
import { runTurn } from '../turns/run-turn.ts';
import { buildQueuedResponse } from '../stored/build-queued-response.ts';

/**
 * `POST /v1/responses` with `background: true`: stores the response as `queued`, starts the turn
 * detached from this socket and answers at once, with the queued Response (JSON) or with the run's
 * live events (stream: true: `response.created` and `response.queued` with status queued, then the
 * run's events). Either way the client may leave and poll `GET /v1/responses/{id}`.
 */
export async function startBackgroundResponse(deps: RouteDependencies, req: Request, res: ExpressResponse, conversation: PreparedConversation): Promise<void> {
  const { request } = conversation;
  if (request.store === false) {
    throw new InvalidRequestError('Background responses must be stored: set store to true (the default) to use background mode.', {
      param: 'background',
      code: 'invalid_value',
    });
  }
  // Refused now rather than as a failed run: the client is still here to read the 404.
  const { backendModel } = resolveCatalogModel(deps.catalog, request.model);
  // Likewise a full replica: the run itself is then counted but never refused (alreadyAccepted).
  deps.turnSlots?.assertRoom();
  const { apiKey, owner, requestId } = res.locals;
  const responseId = deps.createId('resp');
  const createdAt = deps.now();
  const queued = buildQueuedResponse(request, { responseId, createdAt, model: backendModel, createId: deps.createId, now: deps.now });
  const log = req.log.child({ response_id: responseId, background: true });
  const run = await deps.stored.runs.start({
    owner,
    queued,
    inputItems: conversation.inputItems,
    ancestorIds: conversation.ancestorIds,
    log,
    execute: (signal, sink, persist) => runTurn(deps, { request, apiKey, responseId, createdAt, signal, log, requestId, persist, alreadyAccepted: true }, sink),
  });
  addLogFields(res, { response_id: responseId, background: true });
  if (request.stream) await writeEventStream(res, run.events.follow());
  else res.status(200).json(queued);
}
