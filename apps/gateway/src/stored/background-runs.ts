import type { Logger } from 'pino';
import { GatewayError } from '@rgw/errors';
import type { ResponseStore, StoredItem } from '@rgw/response-store';
import { type Response, type ResponseStreamEvent, buildFailedResponse, buildFailureEvents } from '@rgw/responses';
import { createEventLogSink } from '../sinks/create-event-log-sink.ts';
import { type TurnPersistence, saveFinalResponse } from '../turns/save-final-response.ts';
import { TurnShutdown } from '../turns/turn.ts';
import type { TurnSink } from '../turns/turn-sink.ts';
import { type EventLog, createEventLog } from './event-log.ts';

export interface BackgroundRunSpec {
  readonly owner: string;
  /** The Response as POST answers it: status `queued`, no output. Its id is the run's id. */
  readonly queued: Response;
  readonly inputItems: readonly StoredItem[];
  readonly ancestorIds: readonly string[];
  /**
   * Runs the turn (the gateway's runTurn) into `sink`, keeping its final Response through `persist`;
   * must stop when `signal` aborts.
   */
  readonly execute: (signal: AbortSignal, sink: TurnSink, persist: TurnPersistence) => Promise<unknown>;
  readonly log: Logger;
}

export interface BackgroundRun {
  readonly responseId: string;
  /** The run's events from `response.created` (status queued) on, renumbered from 0. */
  readonly events: EventLog;
  /** Settles when the run has stored its final state (never rejects). */
  readonly finished: Promise<void>;
}

export interface BackgroundRuns {
  /** Saves the queued record (throws a 503 when the store cannot), then runs detached from any socket. */
  start(spec: BackgroundRunSpec): Promise<BackgroundRun>;
  /** This replica's run of `responseId`, if it is running here. */
  find(responseId: string): BackgroundRun | undefined;
  /** Aborts this replica's run at once (a cancel); other replicas' runs notice through the status poll. */
  abortLocal(responseId: string): boolean;
  /** Shutdown: let runs finish for up to `graceMs`, then end the rest, which are stored as failed. */
  drain(graceMs: number): Promise<void>;
}

export interface BackgroundRunsOptions {
  readonly store: ResponseStore<Response>;
  /** How often a run reads its stored status to notice a cancel made on another replica (ms, default 1000). */
  readonly cancelPollMs?: number;
  /** Unix seconds, for `completed_at` of runs that fail before the backend answered. */
  readonly now: () => number;
}

/** The abort reason of a cancel; a shutdown's is a TurnShutdown (the turn then ends in-band, stored as failed). */
const CANCELLED = 'cancelled';

/**
 * Background responses (`background: true`): the run belongs to the gateway, not to the POST's
 * socket, so a client may disconnect and poll `GET /v1/responses/{id}`. Stored states: `queued`
 * (before POST answers) → `in_progress` → the terminal state, each write refused once the
 * response is `cancelled`, so a cancel on any replica wins. Cancels reach a run two ways: at once
 * when they land on the run's replica (`abortLocal`), else within `cancelPollMs` through the store.
 */
export function createBackgroundRuns(options: BackgroundRunsOptions): BackgroundRuns {
  const { store } = options;
  const pollMs = options.cancelPollMs ?? 1000;
  const running = new Map<string, { run: BackgroundRun; abort: AbortController }>();

  async function execute(spec: BackgroundRunSpec, log: EventLog, abort: AbortController): Promise<void> {
    const persist: TurnPersistence = { store, owner: spec.owner, inputItems: spec.inputItems, ancestorIds: spec.ancestorIds, unlessCancelled: true };
    let sequence = 0;
    const nextSequenceNumber = () => sequence++;
    log.append({ type: 'response.created', response: spec.queued, sequence_number: nextSequenceNumber() });
    log.append({ type: 'response.queued', response: spec.queued, sequence_number: nextSequenceNumber() });

    const inProgress: Response = { ...spec.queued, status: 'in_progress' };
    const started = await store
      .save(spec.owner, { response: inProgress, inputItems: spec.inputItems, ancestorIds: spec.ancestorIds }, { unlessCancelled: true })
      .catch((error: unknown) => {
        spec.log.warn({ err: error }, 'could not store the in-progress state of a background response');
        return 'saved' as const;
      });
    if (started === 'cancelled') return;

    const poll = setInterval(() => {
      store.readStatus(spec.owner, spec.queued.id).then(
        (status) => {
          // Gone (deleted on another replica) stops the run as a cancel does.
          if (status === 'cancelled' || status === null) abort.abort(CANCELLED);
        },
        () => undefined, // the store is down: keep running; the final write will tell
      );
    }, pollMs);
    poll.unref();
    try {
      // The turn stores its final Response (unless cancelled meanwhile) before its terminal event reaches the log.
      await spec.execute(abort.signal, createEventLogSink(log, nextSequenceNumber), persist);
    } catch (error) {
      if (abort.signal.reason === CANCELLED) return;
      // Refused before the backend answered (unknown model, open breaker, a backend error): stored as failed.
      const failed = buildFailedResponse(spec.queued, failureOf(error, abort.signal), options.now());
      spec.log.warn({ err: error, error_code: failed.error?.code }, 'background response failed');
      // Best effort: when the store is what failed, this write fails too (logged by saveFinalResponse).
      await saveFinalResponse(persist, failed, spec.log).catch(() => undefined);
      for (const event of buildFailureEvents(failed)) log.append({ ...event, sequence_number: nextSequenceNumber() } as ResponseStreamEvent);
    } finally {
      clearInterval(poll);
    }
  }

  return {
    async start(spec) {
      await store.save(spec.owner, { response: spec.queued, inputItems: spec.inputItems, ancestorIds: spec.ancestorIds });
      const abort = new AbortController();
      const events = createEventLog();
      const finished = execute(spec, events, abort)
        .catch((error: unknown) => spec.log.error({ err: error }, 'background run crashed'))
        .finally(() => {
          events.end();
          running.delete(spec.queued.id);
        });
      const run: BackgroundRun = { responseId: spec.queued.id, events, finished };
      running.set(spec.queued.id, { run, abort });
      return run;
    },
    find: (responseId) => running.get(responseId)?.run,
    abortLocal(responseId) {
      const entry = running.get(responseId);
      entry?.abort.abort(CANCELLED);
      return entry !== undefined;
    },
    async drain(graceMs) {
      const all = () => Promise.allSettled([...running.values()].map((entry) => entry.run.finished));
      const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
      if ((await Promise.race([all(), timer])) !== 'timeout') return;
      for (const entry of running.values()) entry.abort.abort(new TurnShutdown());
      await all();
    },
  };
}

function failureOf(error: unknown, signal: AbortSignal): { code: string; message: string } {
  if (signal.reason instanceof TurnShutdown) return { code: 'server_error', message: 'The gateway shut down before this background response finished.' };
  if (error instanceof GatewayError) return { code: error.code ?? error.type, message: error.message };
  return { code: 'server_error', message: 'The server had an error while processing your request.' };
}
