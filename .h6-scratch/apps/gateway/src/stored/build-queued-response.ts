import { type Response, type ResponseContext, type ResponsesRequest, convertChatStreamToResponsesEvents } from '@rgw/responses';

/**
 * The Response a background POST answers with before any backend call: the converter's own
 * `response.created` skeleton (every request field echoed), with status `queued`. Taken from the
 * converter so the queued and final objects can never disagree on the echoed fields.
 */
export async function buildQueuedResponse(request: ResponsesRequest, context: Omit<ResponseContext, 'request' | 'toolNames'>): Promise<Response> {
  const events = convertChatStreamToResponsesEvents(noChunks(), { ...context, request, toolNames: new Map() });
  const first = await events.next();
  await events.return(undefined);
  if (first.done || first.value.type !== 'response.created') throw new Error('the converter did not open with response.created');
  return { ...first.value.response, status: 'queued', background: true };
}

async function* noChunks(): AsyncGenerator<never> {}
