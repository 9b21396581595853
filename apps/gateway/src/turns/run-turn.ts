import { GatewayError } from '@rgw/errors';
import {
  buildFailedResponse,
  buildFailureEvents,
  type ChatCompletion,
  type ChatStreamEvent,
  type ResponseStreamEvent,
  type TerminalEvent,
  convertChatCompletionToStreamEvents,
  createResponseEventConverter,
  isTerminalEvent,
} from '@rgw/responses';
import { type AdmittedTurn, admitTurn } from './admit-turn.ts';
import { classifyUpstreamFailure } from './classify-upstream-failure.ts';
import { type TurnEnding, decideBreakerOutcome } from './decide-breaker-outcome.ts';
import { SHUTTING_DOWN_CODE } from './map-response-failure.ts';
import { createTurnObserver } from './observe-turn-events.ts';
import { saveFinalResponse } from './save-final-response.ts';
import { type Turn, TurnShutdown } from './turn.ts';
import type { TurnDependencies } from './turn-dependencies.ts';
import type { FinalResponse, TurnSink } from './turn-sink.ts';

/**
 * Runs one turn, whatever carries it (SSE, JSON, a background run, compaction, a WebSocket): admit it
 * (catalogue, conversion, breaker), call the backend (streamed, or one completion when the sink takes
 * the answer whole), push each backend event through the converter, observe every Responses event
 * (metrics), store the final Response before its terminal event is written (when the turn is kept),
 * write each event to the sink, and tell the breaker the outcome exactly once, however the turn ends.
 *
 * Throws the admission's GatewayErrors (a full replica, unknown model, open breaker), the backend's errors before its
 * first byte, whatever the sink throws, and the abort of a client that left; resolves with the final
 * Response otherwise. A turn ended by the gateway's shutdown (a `TurnShutdown` abort) still ends
 * in-band: `error` + `response.failed`, so a client mid-stream reads why.
 */
export async function runTurn(deps: TurnDependencies, turn: Turn, sink: TurnSink): Promise<FinalResponse> {
  // First of all: a replica at MAX_CONCURRENT_STREAMS refuses before the catalogue, the breaker or the backend.
  const release = deps.turnSlots === undefined ? undefined : turn.alreadyAccepted ? deps.turnSlots.hold() : deps.turnSlots.take();
  try {
    return await runCountedTurn(deps, turn, sink);
  } finally {
    release?.();
  }
}

async function runCountedTurn(deps: TurnDependencies, turn: Turn, sink: TurnSink): Promise<FinalResponse> {
  const startedAt = turn.startedAt ?? performance.now();
  const admitted = await admitTurn(deps, turn);
  sink.admitted?.({ warnings: admitted.warnings });
  const converter = createResponseEventConverter(admitted.context);
  const upstreamStartedAt = performance.now();
  const observe = createTurnObserver({
    metrics: deps.metrics,
    model: admitted.modelLabel,
    startedAt,
    upstreamStartedAt,
    onFinished: (fields) => turn.onFinished?.({ model: admitted.knownModel ?? undefined, ...fields }),
  });
  let ending: TurnEnding | null = null;
  let lastErrorCode: string | null = null;
  let final: FinalResponse | undefined;
  let backendAnswered = false;

  async function finishWith(event: TerminalEvent): Promise<void> {
    final = createFinalResponse(event.response);
    ending = { kind: 'finished', response: event.response };
    // Stored before the terminal event goes out: a client that sends its next turn the moment it reads
    // `response.completed` (any replica) finds this one. A save that fails (Redis down or full, no replica
    // acknowledgement) must not be announced as completed: the turn ends failed with the store's code.
    if (turn.persist) {
      try {
        await saveFinalResponse(turn.persist, event.response, turn.log, final.json);
      } catch (error) {
        await endUnstored(event, error);
        return;
      }
    }
    await sink.write(event);
    await sink.finish?.(final);
  }

  /** The terminal event could not be stored: `error` + `response.failed` with the store's code instead. */
  async function endUnstored(event: TerminalEvent, error: unknown): Promise<void> {
    // Nothing was sent yet to a sink that takes the answer whole: the store's own error (its status,
    // its retry-after) is the answer.
    if (!sink.streaming) throw error;
    const failure = error instanceof GatewayError ? { code: error.code ?? 'store_unavailable', message: error.message } : STORE_UNAVAILABLE;
    const failed = buildFailedResponse(event.response, failure);
    final = createFinalResponse(failed);
    let sequenceNumber = event.sequence_number;
    for (const failureEvent of buildFailureEvents(failed)) await sink.write({ ...failureEvent, sequence_number: sequenceNumber++ } as ResponseStreamEvent);
    await sink.finish?.(final);
  }

  /** Observes and writes events in order; a promise only when something had to be waited for (one microtask per chunk less otherwise). */
  function deliver(events: readonly ResponseStreamEvent[], from = 0): Promise<void> | undefined {
    for (let index = from; index < events.length; index += 1) {
      const event = events[index] as ResponseStreamEvent;
      observe(event);
      if (event.type === 'error') lastErrorCode = readErrorCode(event);
      // The converter puts nothing after a terminal event.
      if (isTerminalEvent(event)) return finishWith(event);
      const pending = sink.write(event);
      if (pending) return pending.then(() => deliver(events, index + 1));
    }
    return undefined;
  }

  const shutDown = () => turn.signal.aborted && turn.signal.reason instanceof TurnShutdown;
  const failForShutdown = () => converter.fail({ code: SHUTTING_DOWN_CODE, message: new TurnShutdown().message });

  try {
    let stream: AsyncIterator<ChatStreamEvent> | undefined;
    let completion: ChatCompletion | undefined;
    try {
      if (sink.streaming)
        stream = (await callBackend(deps, admitted, turn, () => deps.upstream.streamChat(admitted.chatRequest, admitted.call)))[Symbol.asyncIterator]();
      else completion = await callBackend(deps, admitted, turn, () => deps.upstream.completeChat(admitted.chatRequest, admitted.call));
    } catch (error) {
      if (!shutDown()) throw error;
      backendAnswered = true;
      await deliver([...converter.start(), ...failForShutdown()]);
      if (final === undefined) throw error;
      return final;
    }
    backendAnswered = true;
    if (stream === undefined) {
      // A whole completion: the same steps, all at once (no promise per event; docs/benchmarks.md, round 3).
      const events = converter.start();
      for (const event of convertChatCompletionToStreamEvents(completion as ChatCompletion)) {
        events.push(...converter.push(event));
        if (converter.ended) break;
      }
      if (!converter.ended) events.push(...converter.end());
      const pending = deliver(events);
      if (pending) await pending;
    } else {
      const source = stream;
      try {
        const started = deliver(converter.start());
        if (started) await started;
        while (!converter.ended) {
          let next: IteratorResult<ChatStreamEvent>;
          try {
            next = await source.next();
          } catch (error) {
            // The upstream layer reports backend failures as values: a throw is our client's abort, a
            // shutdown, a torn socket or a bug. Only the first is silent.
            if (turn.signal.aborted && !shutDown()) throw error;
            const pending = deliver(
              shutDown() ? failForShutdown() : converter.fail({ code: 'server_error', message: `The backend stream failed: ${describe(error)}` }),
            );
            if (pending) await pending;
            break;
          }
          if (turn.signal.aborted) {
            // An abort with a reason of ours reaches the reader as that reason, which it reports as a cut
            // connection: decide from the signal, not from what the reader made of it.
            if (!shutDown()) throw turn.signal.reason;
            const pending = deliver(failForShutdown());
            if (pending) await pending;
            break;
          }
          const pending = deliver(next.done ? converter.end() : converter.push(next.value));
          if (pending) await pending;
        }
      } finally {
        // Releases the backend connection when the turn stops before the backend finished (a terminal
        // event, the client gone, a sink that threw).
        await source.return?.();
      }
    }
    if (final === undefined) throw new Error('the converter ended without a terminal event');
    return final;
  } catch (error) {
    // A sink that threw after the terminal event (a failed JSON answer) leaves the ending `finished`.
    ending ??= backendAnswered ? { kind: 'stopped', errorCode: lastErrorCode } : { kind: 'thrown', error };
    throw error;
  } finally {
    if (turn.signal.aborted) {
      deps.metrics.streamDuration.observe({ model: admitted.modelLabel, status: 'aborted' }, (performance.now() - startedAt) / 1000);
      ending = { kind: 'aborted' };
    }
    const outcome = decideBreakerOutcome(ending ?? { kind: 'stopped', errorCode: lastErrorCode });
    await deps.breaker.record(admitted.ticket, outcome).catch((error: unknown) => turn.log.warn({ err: error }, 'breaker record failed'));
  }
}

const STORE_UNAVAILABLE = { code: 'store_unavailable', message: 'The response store is unavailable; retry shortly.' };

/** The backend call, counting a refusal in gateway_upstream_errors_total (unless our own client left). */
async function callBackend<T>(deps: TurnDependencies, admitted: AdmittedTurn, turn: Turn, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    const kind = classifyUpstreamFailure(error);
    if (kind && !turn.signal.aborted) deps.metrics.upstreamErrors.inc({ model: admitted.modelLabel, kind });
    throw error;
  }
}

/** The terminal Response with its JSON text made on first use, once, for the store and the answer alike. */
function createFinalResponse(response: TerminalEvent['response']): FinalResponse {
  let json: string | undefined;
  return {
    response,
    get json() {
      json ??= JSON.stringify(response);
      return json;
    },
  };
}

function readErrorCode(event: Extract<ResponseStreamEvent, { type: 'error' }>): string | null {
  const nested = (event as { error?: { code?: string | null } }).error;
  return nested?.code ?? event.code ?? null;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
