import { UpstreamError } from '@rgw/errors';
import type { Response } from '@rgw/responses';
import { mapResponseFailure } from '../turns/map-response-failure.ts';
import type { FinalResponse, TurnSink } from '../turns/turn-sink.ts';

export interface CompactionSink extends TurnSink {
  /** The summary the backend wrote, once the turn finished; throws the HTTP error of a failed or empty one. */
  summary(): { readonly text: string; readonly usage: Response['usage'] };
}

/**
 * The sink of `POST /v1/responses/compact`'s summary turn: streamed from the backend (a long summary
 * by a reasoning model is then bounded by the idle timeout between chunks, not by the time to a whole
 * completion, and no proxy on the way, such as a CDN with a 100 s limit, sees a silent connection),
 * but nothing reaches the client until the summary is whole.
 */
export function createCompactionSink(): CompactionSink {
  let final: FinalResponse | undefined;
  return {
    streaming: true,
    write: () => undefined,
    finish(finished) {
      final = finished;
    },
    summary() {
      const response = final?.response;
      if (response === undefined) throw mapResponseFailure('server_error', 'The backend answer ended without a result.');
      if (response.status === 'failed') throw mapResponseFailure(response.error?.code, response.error?.message ?? 'The backend failed.');
      const text = response.output
        .flatMap((item) => (item.type === 'message' ? item.content : []))
        .map((part) => (part.type === 'output_text' ? part.text : ''))
        .join('')
        .trim();
      if (text === '') throw new UpstreamError('The backend returned an empty summary.', { code: 'server_error' });
      return { text, usage: response.usage };
    },
  };
}
