/**
 * The one SSE reader of the tests and tools: eventsource-parser (what the gateway itself reads
 * backend streams with), so a test sees frames exactly as a spec-following client does.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent<T = Record<string, unknown>> {
  /** The `event:` field, if any. */
  readonly event: string | undefined;
  /** The `data:` field parsed as JSON. */
  readonly data: T;
}

/** Every event of a whole SSE body, `data` parsed as JSON (`[DONE]` and non-JSON data are skipped). */
export function parseSseEvents<T = Record<string, unknown>>(text: string): SseEvent<T>[] {
  const events: SseEvent<T>[] = [];
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      try {
        events.push({ event: message.event, data: JSON.parse(message.data) as T });
      } catch {
        // `[DONE]` and other non-JSON payloads are not Responses events.
      }
    },
  });
  parser.feed(text);
  parser.reset({ consume: true });
  return events;
}

/** The parsed `data` of every event of an SSE body: the Responses events, in order. */
export function parseSseData<T = { type: string; sequence_number: number; [field: string]: unknown }>(text: string): T[] {
  return parseSseEvents<T>(text).map((event) => event.data);
}
