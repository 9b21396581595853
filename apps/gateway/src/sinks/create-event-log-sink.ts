import type { ResponseStreamEvent } from '@rgw/responses';
import type { TurnSink } from '../turns/turn-sink.ts';

/** An append-only log of events that any number of readers follow (a background run's). */
export interface EventAppender {
  append(event: ResponseStreamEvent): void;
}

/**
 * The sink of a background run: every event goes to the run's log, renumbered after the events the
 * run wrote first (its own `response.created` and `response.queued`, status queued, which replace
 * the turn's `response.created`). Never blocks the run: a slow reader reads from the log.
 */
export function createEventLogSink(log: EventAppender, nextSequenceNumber: () => number): TurnSink {
  return {
    streaming: true,
    write(event) {
      if (event.type === 'response.created') return;
      log.append({ ...event, sequence_number: nextSequenceNumber() } as ResponseStreamEvent);
    },
  };
}
