import { type Response, type ResponseStreamEvent, terminalEventTypeOf } from '@rgw/responses';

/**
 * A stored, finished Response as a stream (`GET /v1/responses/{id}?stream=true` when the run's
 * live events are not on this replica): created → in_progress → each output item added and done
 * → the terminal event. No deltas: clients build the result from `output_item.done` and the
 * terminal event, which carry everything. `startingAfter` skips events up to that sequence number.
 */
export function* replayResponseEvents(response: Response, startingAfter = -1): Generator<ResponseStreamEvent> {
  const events: ResponseStreamEvent[] = [];
  const opening = { ...response, status: 'in_progress', output: [], usage: null } as unknown as Response;
  events.push({ type: 'response.created', response: opening, sequence_number: 0 });
  events.push({ type: 'response.in_progress', response: opening, sequence_number: 0 });
  response.output.forEach((item, outputIndex) => {
    const added = 'status' in item ? { ...item, status: 'in_progress' } : item;
    events.push({ type: 'response.output_item.added', item: added as typeof item, output_index: outputIndex, sequence_number: 0 });
    events.push({ type: 'response.output_item.done', item, output_index: outputIndex, sequence_number: 0 });
  });
  events.push({ type: terminalEventTypeOf(response), response, sequence_number: 0 } as ResponseStreamEvent);
  for (const [index, event] of events.entries()) {
    if (index > startingAfter) yield { ...event, sequence_number: index } as ResponseStreamEvent;
  }
}
