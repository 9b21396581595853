import { UpstreamError } from '@rgw/errors';
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';

/**
 * The non-streaming answer: the Response carried by the terminal event (completed, incomplete or
 * failed), whose `output` already holds every item. The events before it need no folding.
 */
export async function foldResponseEvents(events: AsyncIterable<ResponseStreamEvent>): Promise<Response> {
  for await (const event of events) {
    switch (event.type) {
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        return event.response;
      default:
        break;
    }
  }
  // The converter always ends with a terminal event; reaching here means the events came from elsewhere.
  throw new UpstreamError('The response stream ended without a terminal event.');
}
