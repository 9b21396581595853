import { createResponseEventConverter, isTerminalEvent } from '@rgw/responses';
import { resolveCatalogModel } from './resolve-catalog-model.ts';
import { saveFinalResponse } from './save-final-response.ts';
import type { Turn } from './turn.ts';
import type { TurnDependencies } from './turn-dependencies.ts';
import type { FinalResponse, TurnSink } from './turn-sink.ts';

/**
 * A turn that prepares state and generates nothing (WebSocket `response.create` with `generate:
 * false`): no backend call and no breaker ticket, but the same model check (404 for an unknown
 * model) and the same Response lifecycle: `response.created`, `response.in_progress`, then
 * `response.completed` with no output, stored like any turn (store: true) before its terminal event.
 * The next turn chains from its id with `previous_response_id` and only its new input; the request
 * is not converted, since a warm-up may carry instructions and tools but no message yet.
 */
export async function warmUpTurn(deps: TurnDependencies, turn: Turn, sink: TurnSink): Promise<FinalResponse> {
  const { backendModel } = resolveCatalogModel(deps.catalog, turn.request.model);
  const converter = createResponseEventConverter({
    responseId: turn.responseId,
    createdAt: turn.createdAt,
    request: turn.request,
    model: backendModel,
    toolNames: new Map(),
    createId: deps.createId,
    now: deps.now,
  });
  // `done` with nothing before it: the converter completes an empty Response with zero usage.
  for (const event of [...converter.start(), ...converter.push({ type: 'done' })]) {
    if (isTerminalEvent(event)) {
      const json = JSON.stringify(event.response);
      if (turn.persist) await saveFinalResponse(turn.persist, event.response, turn.log, json);
      await sink.write(event);
      const final = { response: event.response, json };
      await sink.finish?.(final);
      return final;
    }
    await sink.write(event);
  }
  throw new Error('the converter ended without a terminal event');
}
