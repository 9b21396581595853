import type { ResponseStreamEvent } from '@rgw/responses';

/**
 * The events of one background run, kept while it runs so any number of readers (the POST that
 * started it with stream:true, a GET ?stream=true on this replica) can follow it from any point
 * without holding the run back: a slow or vanished reader never blocks the writer.
 */
export interface EventLog {
  append(event: ResponseStreamEvent): void;
  end(): void;
  /** Every event after `startingAfter` (a sequence number; -1 = from the start), then new ones until the end. */
  follow(startingAfter?: number): AsyncGenerator<ResponseStreamEvent>;
}

export function createEventLog(): EventLog {
  const events: ResponseStreamEvent[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  let changed = new Promise<void>((resolve) => (wake = resolve));
  const notify = () => {
    const resolve = wake;
    changed = new Promise<void>((next) => (wake = next));
    resolve?.();
  };
  return {
    append(event) {
      if (ended) return;
      events.push(event);
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    async *follow(startingAfter = -1) {
      let index = events.findIndex((event) => event.sequence_number > startingAfter);
      if (index === -1) index = events.length;
      for (;;) {
        while (index < events.length) yield events[index++] as ResponseStreamEvent;
        if (ended) return;
        await changed;
      }
    },
  };
}
