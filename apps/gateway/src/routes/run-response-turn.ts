import { buildResponseSkeleton } from '@rgw/responses';
import { buildSummaryRequest } from '../conversation/compaction-summary.ts';
import { createCompactionTriggerSink } from '../sinks/create-compaction-trigger-sink.ts';
import { runTurn } from '../turns/run-turn.ts';
import type { Turn } from '../turns/turn.ts';
import type { TurnDependencies } from '../turns/turn-dependencies.ts';
import type { FinalResponse, TurnSink } from '../turns/turn-sink.ts';

/**
 * Runs a create request's turn, whatever carries it (HTTP or WebSocket). A request that ended with a
 * `compaction_trigger` (Codex's remote compaction v2) runs a summary turn instead, streamed from the
 * backend, whose answer reaches the client as one `compaction` item (sinks/create-compaction-trigger-sink.ts).
 */
export async function runResponseTurn(deps: TurnDependencies, turn: Turn, sink: TurnSink, compactionTrigger: boolean): Promise<FinalResponse> {
  if (!compactionTrigger) return runTurn(deps, turn, sink);
  const { request } = turn;
  const skeleton = buildResponseSkeleton({
    responseId: turn.responseId,
    createdAt: turn.createdAt,
    request,
    model: request.model,
    toolNames: new Map(),
    createId: deps.createId,
    now: deps.now,
  });
  const compaction = createCompactionTriggerSink(sink, {
    skeleton,
    sealReasoning: deps.sealReasoning,
    createId: deps.createId,
    now: deps.now,
    persist: turn.persist,
    log: turn.log,
  });
  // The summary turn keeps nothing itself: the client's Response (the compaction item) is what is stored.
  const { persist: _stored, ...summaryTurn } = turn;
  await runTurn(deps, { ...summaryTurn, request: buildSummaryRequest(request, (request.input ?? []) as readonly unknown[]) }, compaction);
  return compaction.result();
}
