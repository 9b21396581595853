import type { Request, Response as ExpressResponse } from 'express';
import { InvalidRequestError, NotFoundError } from '@rgw/errors';
import type { GatewayDependencies } from '../gateway-dependencies.ts';
import { buildQueuedResponse } from './build-queued-response.ts';
import { executeResponseEvents } from '../responses/execute-response.ts';
import type { PreparedConversation } from './prepare-conversation.ts';
import type { StoredResponses } from './stored-responses.ts';
import { writeEventStream } from './write-event-stream.ts';

/**
 * `POST /v1/responses` with `background: true`: stores the response as `queued`, starts the run
 * detached from this socket and answers at once, with the queued Response (JSON) or with the
 * run's live events (stream: true: `response.created` and `response.queued` with status queued,
 * then the run's events). Either way the client may leave and poll `GET /v1/responses/{id}`.
 */
export async function serveBackgroundResponse(
  deps: GatewayDependencies,
  stored: StoredResponses,
  req: Request,
  res: ExpressResponse,
  prepared: PreparedConversation,
): Promise<void> {
  const { request } = prepared;
  if (request.store === false) {
    throw new InvalidRequestError('Background responses must be stored: set store to true (the default) to use background mode.', {
      param: 'background',
      code: 'invalid_value',
    });
  }
  // Refused now rather than as a failed run: the client is still here to read a 404.
  const resolution = deps.catalog.resolve(request.model);
  if (resolution.kind === 'unknown') {
    throw new NotFoundError(`The model '${request.model}' does not exist.`, { param: 'model', code: 'model_not_found' });
  }
  const apiKey = String(res.locals['apiKey']);
  const responseId = deps.createId('resp');
  const createdAt = deps.now();
  const model = resolution.kind === 'found' ? resolution.id : request.model;
  const queued = buildQueuedResponse(request, { responseId, createdAt, model, createId: deps.createId, now: deps.now });
  const log = req.log.child({ response_id: responseId, background: true });
  const run = await stored.runs.start({
    owner: stored.ownerOf(apiKey),
    queued,
    inputItems: prepared.inputItems,
    ancestorIds: prepared.ancestorIds,
    log,
    execute: (signal) => executeResponseEvents(deps, request, { apiKey, signal, responseId, createdAt, log, requestId: String(req.id) }),
  });
  res.locals['logFields'] = { ...(res.locals['logFields'] as Record<string, unknown> | undefined), response_id: responseId, background: true };
  if (request.stream) await writeEventStream(res, run.events.follow());
  else res.status(200).json(queued);
}
