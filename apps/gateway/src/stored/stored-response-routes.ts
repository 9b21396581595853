import type { Express, Request, RequestHandler } from 'express';
import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '@rgw/errors';
import { CANCELLABLE_STATUSES, type StoredResponseRecord, paginateInputItems } from '@rgw/response-store';
import type { Response, ResponseStreamEvent } from '@rgw/responses';
import { writeEventStream } from '../sinks/write-event-stream.ts';
import { replayResponseEvents } from './replay-response-events.ts';
import type { StoredResponses } from './stored-responses.ts';

/** How often `GET ?stream=true` re-reads a response that runs on another replica, ms. */
const REMOTE_POLL_MS = 500;

const booleanQuery = z.enum(['true', 'false']).transform((value) => value === 'true');
const retrieveQuerySchema = z.looseObject({
  stream: booleanQuery.optional(),
  starting_after: z.coerce.number().int().min(-1).optional(),
});
const inputItemsQuerySchema = z.looseObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  after: z.string().min(1).optional(),
});

/** Route templates of these endpoints, for metric labels (`createHttpMetricsMiddleware` routes). */
export const STORED_RESPONSE_ROUTES = ['/v1/responses/:id', '/v1/responses/:id/input_items', '/v1/responses/:id/cancel'];

/**
 * Registers the stored-response endpoints with full paths, each behind `auth` (authentication and
 * rate limiting): `GET|DELETE /v1/responses/:id`, `GET /v1/responses/:id/input_items`,
 * `POST /v1/responses/:id/cancel`. A response is visible only to the API key that created it: any
 * other key gets the same 404 as an unknown id.
 */
export function registerStoredResponseRoutes(app: Express, stored: StoredResponses, auth: readonly RequestHandler[]): void {
  const router = {
    get: (path: string, handler: RequestHandler) => app.get(`/v1${path}`, ...auth, handler),
    post: (path: string, handler: RequestHandler) => app.post(`/v1${path}`, ...auth, handler),
    delete: (path: string, handler: RequestHandler) => app.delete(`/v1${path}`, ...auth, handler),
  };
  const load = async (owner: string, id: string): Promise<StoredResponseRecord<Response>> => {
    const record = await stored.store.get(owner, id);
    if (record === null) throw notFound(id);
    return record;
  };

  router.get('/responses/:id', async (req, res) => {
    const query = parseQuery(retrieveQuerySchema, req.query);
    const record = await load(res.locals.owner, idOf(req));
    if (!query.stream) {
      res.json(record.response);
      return;
    }
    const local = stored.runs.find(record.response.id);
    if (local) {
      await writeEventStream(res, local.events.follow(query.starting_after ?? -1));
      return;
    }
    await writeEventStream(res, followStoredResponse(stored, res.locals.owner, record, query.starting_after ?? -1, res));
  });

  router.delete('/responses/:id', async (req, res) => {
    const { owner } = res.locals;
    // A running background response stops too: cancel (all replicas notice), then delete.
    const cancelled = await stored.store.cancel(owner, idOf(req));
    if (cancelled.kind === 'not_found') throw notFound(idOf(req));
    stored.runs.abortLocal(idOf(req));
    await stored.store.delete(owner, idOf(req));
    res.json({ id: idOf(req), object: 'response', deleted: true });
  });

  router.get('/responses/:id/input_items', async (req, res) => {
    const query = parseQuery(inputItemsQuerySchema, req.query);
    const record = await load(res.locals.owner, idOf(req));
    res.json(paginateInputItems(record.inputItems, query));
  });

  router.post('/responses/:id/cancel', async (req, res) => {
    req.resume(); // no body is read; drain any
    const { owner } = res.locals;
    const record = await load(res.locals.owner, idOf(req));
    if (record.response['background'] !== true) {
      throw new InvalidRequestError('Only responses created with background set to true can be cancelled.', { param: null, code: 'invalid_request' });
    }
    const result = await stored.store.cancel(owner, idOf(req));
    if (result.kind === 'not_found') throw notFound(idOf(req));
    if (result.kind === 'cancelled') stored.runs.abortLocal(idOf(req));
    // A response that finished before the cancel arrived is returned as it is.
    res.json(result.record.response);
  });
}

/** Waits (re-reading the store) until a response running elsewhere is finished, then replays it. */
async function* followStoredResponse(
  stored: StoredResponses,
  owner: string,
  initial: StoredResponseRecord<Response>,
  startingAfter: number,
  res: { readonly destroyed: boolean },
): AsyncGenerator<ResponseStreamEvent> {
  let record: StoredResponseRecord<Response> | null = initial;
  // Queued or in progress: a background run elsewhere is still writing it.
  while (record !== null && CANCELLABLE_STATUSES.has(record.response.status ?? 'completed') && !res.destroyed) {
    await new Promise((resolve) => setTimeout(resolve, REMOTE_POLL_MS));
    record = await stored.store.get(owner, initial.response.id);
  }
  if (record === null || res.destroyed) return;
  yield* replayResponseEvents(record.response, startingAfter);
}

function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const result = schema.safeParse(query);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = String(issue?.path[0] ?? 'query');
  throw new InvalidRequestError(`Invalid '${param}': ${issue?.message ?? 'invalid value'}.`, { param, code: 'invalid_value' });
}

function idOf(req: Request): string {
  return String(req.params['id']);
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`Response with id '${id}' not found.`, { param: null, code: null });
}
