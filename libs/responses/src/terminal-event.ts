import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';

/** The events that end a response: exactly one per stream, always last. */
export type TerminalEvent = Extract<ResponseStreamEvent, { type: 'response.completed' | 'response.incomplete' | 'response.failed' }>;

export function isTerminalEvent(event: ResponseStreamEvent): event is TerminalEvent {
  return event.type === 'response.completed' || event.type === 'response.incomplete' || event.type === 'response.failed';
}

/** The terminal event type a finished Response is announced with (a replay of a stored one). */
export function terminalEventTypeOf(response: Pick<Response, 'status'>): TerminalEvent['type'] {
  return response.status === 'failed' ? 'response.failed' : response.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
}
