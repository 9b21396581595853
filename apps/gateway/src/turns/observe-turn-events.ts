import type { GatewayMetrics, RequestLogFields } from '@rgw/observability';
import { isTerminalEvent, type ResponseStreamEvent } from '@rgw/responses';

const FIRST_TOKEN_TYPES = new Set([
  'response.output_text.delta',
  'response.reasoning_text.delta',
  'response.reasoning_summary_text.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.refusal.delta',
  'response.output_item.added',
]);

export interface ObserveOptions {
  readonly metrics: GatewayMetrics;
  /** A catalogue id or "other". */
  readonly model: string;
  /** performance.now() at request start. */
  readonly startedAt: number;
  readonly upstreamStartedAt: number;
  readonly onFinished: (fields: RequestLogFields) => void;
}

/**
 * Called by the turn runner with every event it passes on: records time to first token, tokens and
 * durations. A function rather than one more async generator around the stream: each generator layer
 * costs a promise per event (a third of a non-streamed answer's converter CPU, docs/benchmarks.md).
 */
export function createTurnObserver(options: ObserveOptions): (event: ResponseStreamEvent) => void {
  const { metrics, model } = options;
  let firstTokenAt: number | null = null;
  return (event) => {
    if (firstTokenAt === null && FIRST_TOKEN_TYPES.has(event.type)) {
      firstTokenAt = performance.now();
      metrics.timeToFirstToken.observe({ model }, (firstTokenAt - options.startedAt) / 1000);
    }
    if (isTerminalEvent(event)) {
      const finishedAt = performance.now();
      const response = event.response;
      const usage = response.usage;
      if (usage) {
        metrics.tokens.inc({ model, type: 'input' }, usage.input_tokens);
        metrics.tokens.inc({ model, type: 'output' }, usage.output_tokens);
        metrics.tokens.inc({ model, type: 'reasoning' }, usage.output_tokens_details?.reasoning_tokens ?? 0);
        metrics.tokens.inc({ model, type: 'cached_input' }, usage.input_tokens_details?.cached_tokens ?? 0);
      }
      const outcome = response.status === 'failed' ? 'server_error' : 'success';
      // A stream that failed after it started: the backend cut it or reported an error in-band.
      if (response.status === 'failed') metrics.upstreamErrors.inc({ model, kind: 'stream_cut' });
      metrics.upstreamRequestDuration.observe({ model, outcome }, (finishedAt - options.upstreamStartedAt) / 1000);
      metrics.streamDuration.observe({ model, status: response.status ?? 'completed' }, (finishedAt - options.startedAt) / 1000);
      options.onFinished({
        response_id: response.id,
        response_status: response.status,
        ttft_ms: firstTokenAt === null ? undefined : Math.round(firstTokenAt - options.startedAt),
        input_tokens: usage?.input_tokens,
        output_tokens: usage?.output_tokens,
        reasoning_tokens: usage?.output_tokens_details?.reasoning_tokens,
        error_code: response.error?.code ?? undefined,
      });
    }
  };
}
