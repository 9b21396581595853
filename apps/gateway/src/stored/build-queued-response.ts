import { type Response, type ResponseContext, type ResponsesRequest, buildResponseSkeleton } from '@rgw/responses';

/**
 * The Response a background POST answers with before any backend call: the converter's own
 * skeleton (every request field echoed, as `response.created` carries it), with status `queued`,
 * so the queued and final objects can never disagree on the echoed fields.
 */
export function buildQueuedResponse(request: ResponsesRequest, context: Omit<ResponseContext, 'request' | 'toolNames'>): Response {
  return { ...buildResponseSkeleton({ ...context, request, toolNames: new Map() }), status: 'queued', background: true };
}
