import OpenAI from 'openai';
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';

/** Our events as SSE frames, one `event:` + `data:` frame each, as the gateway writes them. */
export function encodeSseFrames(events: readonly ResponseStreamEvent[]): string {
  return events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join('');
}

/**
 * Feeds the events to the openai SDK's own `responses.stream()` accumulator through a fake `fetch`
 * (no network): the strictest judge of ordering, ids and item shapes (responses-api.md §7.3).
 * Resolves with what `finalResponse()` returns and the events the SDK re-emitted; rejects the way the
 * SDK does (an `error` event becomes an APIError).
 */
export async function replayThroughOpenAiSdk(events: readonly ResponseStreamEvent[]): Promise<{ response: Response; events: unknown[] }> {
  const body = encodeSseFrames(events);
  const client = new OpenAI({
    apiKey: 'test-key',
    baseURL: 'http://127.0.0.1:9/v1',
    maxRetries: 0,
    fetch: async () => new globalThis.Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
  const stream = client.responses.stream({ model: 'test-model', input: 'hi' });
  const seen: unknown[] = [];
  for await (const event of stream) seen.push(event);
  return { response: await stream.finalResponse(), events: seen };
}
