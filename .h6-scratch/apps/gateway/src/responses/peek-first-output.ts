import type { ResponseStreamEvent } from '@rgw/responses';

const PREAMBLE_TYPES = new Set(['response.created', 'response.in_progress']);

export interface PeekedStream {
  /** Events read so far: the preamble plus the first real output (or the failure). */
  readonly head: readonly ResponseStreamEvent[];
  /** The `error` event when the stream failed before producing any output, else null. */
  readonly earlyFailure: Extract<ResponseStreamEvent, { type: 'error' }> | null;
  readonly rest: AsyncIterator<ResponseStreamEvent>;
}

/**
 * Reads until the first event that is not the preamble. Until then no byte has reached the client,
 * so an early backend failure can still be a real HTTP error with the right status.
 */
export async function peekFirstOutput(events: AsyncIterable<ResponseStreamEvent>): Promise<PeekedStream> {
  const iterator = events[Symbol.asyncIterator]();
  const head: ResponseStreamEvent[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { head, earlyFailure: null, rest: iterator };
    head.push(next.value);
    if (PREAMBLE_TYPES.has(next.value.type)) continue;
    const earlyFailure = next.value.type === 'error' ? next.value : null;
    return { head, earlyFailure, rest: iterator };
  }
}
