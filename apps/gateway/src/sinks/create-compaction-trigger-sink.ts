import type { Logger } from 'pino';
import { type Response, type ResponseStreamEvent, buildFailedResponse, buildFailureEvents } from '@rgw/responses';
import type { ResponseCompactionItem } from 'openai/resources/responses/responses';
import { sealCompactionSummary } from '../conversation/compaction-summary.ts';
import { type TurnPersistence, saveFinalResponse } from '../turns/save-final-response.ts';
import type { FinalResponse, TurnSink } from '../turns/turn-sink.ts';

export interface CompactionTriggerSinkOptions {
  /** The client's Response as `response.created` must announce it (its request echoed, not the summary turn's); `model` is taken from the turn. */
  readonly skeleton: Response;
  readonly sealReasoning: (text: string) => string;
  readonly createId: (prefix: string) => string;
  /** Unix seconds. */
  readonly now: () => number;
  /** Where the client's Response is kept (store: true), saved before its terminal event goes out. */
  readonly persist?: TurnPersistence | undefined;
  readonly log: Logger;
}

export interface CompactionTriggerSink extends TurnSink {
  /** The client's final Response (one `compaction` item, or failed), once the turn ended. */
  result(): FinalResponse;
}

type Unsequenced<Event> = Event extends ResponseStreamEvent ? Omit<Event, 'sequence_number'> : never;

/**
 * Codex's remote compaction v2 over a plain `/v1/responses` turn: the summary turn's events go in, the
 * client's come out. `response.created`/`in_progress` and failures pass through (renumbered, with the
 * client's request echoed); the summary's text never reaches the client: it comes out as exactly one
 * `compaction` output item whose `encrypted_content` is the summary sealed under the gateway key, the
 * same item `POST /v1/responses/compact` returns, expanded again when it comes back as input
 * (prepare-conversation.ts). Codex requires exactly one such item (openai/codex compact_remote_v2.rs).
 */
export function createCompactionTriggerSink(inner: TurnSink, options: CompactionTriggerSinkOptions): CompactionTriggerSink {
  let skeleton = options.skeleton;
  let sequence = 0;
  let final: FinalResponse | undefined;
  const forward = (event: Unsequenced<ResponseStreamEvent>) => inner.write({ ...event, sequence_number: sequence++ } as ResponseStreamEvent);

  async function end(response: Response, events: readonly Unsequenced<ResponseStreamEvent>[]): Promise<void> {
    const json = JSON.stringify(response);
    final = { response, json };
    if (options.persist) await saveFinalResponse(options.persist, response, options.log, json);
    for (const event of events) await forward(event);
  }

  return {
    streaming: true,
    write(event) {
      switch (event.type) {
        case 'response.created':
        case 'response.in_progress':
          // The model as the catalogue resolved it for the summary turn.
          skeleton = { ...skeleton, model: event.response.model };
          return forward({ ...event, response: { ...skeleton, status: event.response.status ?? 'in_progress' } });
        case 'error':
          return forward(event);
        case 'response.failed': {
          const failed = buildFailedResponse(withUsageOf(skeleton, event.response), {
            code: event.response.error?.code ?? 'server_error',
            message: event.response.error?.message ?? 'The backend failed while writing the compaction summary.',
          });
          return end(failed, [{ type: 'response.failed', response: failed }]);
        }
        case 'response.completed':
        case 'response.incomplete': {
          // A summary cut by a token cap is still the best summary there is; only an empty one fails.
          const text = readSummaryText(event.response);
          if (text === '') {
            const failed = buildFailedResponse(withUsageOf(skeleton, event.response), {
              code: 'server_error',
              message: 'The backend returned an empty compaction summary.',
            });
            return end(failed, buildFailureEvents(failed));
          }
          const item: ResponseCompactionItem = {
            id: options.createId('cmp'),
            type: 'compaction',
            encrypted_content: sealCompactionSummary(text, options.sealReasoning),
          };
          const completed: Response = { ...withUsageOf(skeleton, event.response), status: 'completed', completed_at: options.now(), output: [item] };
          return end(completed, [
            { type: 'response.output_item.added', output_index: 0, item },
            { type: 'response.output_item.done', output_index: 0, item },
            { type: 'response.completed', response: completed },
          ]);
        }
        default:
          // The summary's own items and deltas stay here.
          return undefined;
      }
    },
    async finish() {
      if (final) await inner.finish?.(final);
    },
    result() {
      if (final === undefined) throw new Error('the compaction turn ended without a terminal event');
      return final;
    },
  };
}

/** The summary turn's usage (null when the backend reported none, as the converter leaves it) on the client's Response. */
function withUsageOf(skeleton: Response, summary: Response): Response {
  return { ...skeleton, usage: (summary.usage ?? null) as Response['usage'] } as Response;
}

function readSummaryText(response: Response): string {
  return response.output
    .flatMap((item) => (item.type === 'message' ? item.content : []))
    .map((part) => (part.type === 'output_text' ? part.text : ''))
    .join('')
    .trim();
}
