import type { Logger } from 'pino';
import type { ResponseStore, StoredItem, StoredResponseObject } from '@rgw/response-store';
import type { Response, ResponseStreamEvent } from '@rgw/responses';
import { GatewayError } from '@rgw/errors';
import { createEventLog, type EventLog } from './event-log.ts';
import { saveResponse } from './save-response.ts';

export interface BackgroundRunSpec {
  readonly owner: string;
  /** The Response as POST answers it: status `queued`, no output. Its id is the run's id. */
  readonly queued: Response;
  readonly inputItems: readonly StoredItem[];
  readonly ancestorIds: readonly string[];
  /** The backend call; must stop when `signal` aborts. */
  readonly execute: (signal: AbortSignal) => AsyncIterable<ResponseStreamEvent>;
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
  /** Shutdown: let runs finish for up to `graceMs`, then abort the rest, which are stored as failed. */
  drain(graceMs: number): Promise<void>;
}

export interface BackgroundRunsOptions {
  readonly store: ResponseStore;
  /** How often a run reads its stored status to notice a cancel made on another replica (ms, default 1000). */
  readonly cancelPollMs?: number;
  /** Unix seconds, for `completed_at` of runs that fail before the backend answered. */
  readonly now: () => number;
}

type AbortReason = 'cancelled' | 'shutdown';

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
    const persist = { store, owner: spec.owner, inputItems: spec.inputItems, ancestorIds: spec.ancestorIds, log: spec.log, unlessCancelled: true };
    let sequence = 0;
    const emit = (event: ResponseStreamEvent) => log.append({ ...event, sequence_number: sequence++ } as ResponseStreamEvent);
    emit({ type: 'response.created', response: spec.queued, sequence_number: 0 });
    emit({ type: 'response.queued', response: spec.queued, sequence_number: 0 });

    const inProgress = { ...spec.queued, status: 'in_progress' } as Response;
    const started = await store
      .save(
        spec.owner,
        { response: inProgress as unknown as StoredResponseObject, inputItems: spec.inputItems, ancestorIds: spec.ancestorIds },
        { unlessCancelled: true },
      )
      .catch((error: unknown) => {
        spec.log.warn({ err: error }, 'could not store the in-progress state of a background response');
        return 'saved' as const;
      });
    if (started === 'cancelled') return;

    const poll = setInterval(() => {
      store.readStatus(spec.owner, spec.queued.id).then(
        (status) => {
          // Gone (deleted on another replica) stops the run as a cancel does.
          if (status === 'cancelled' || status === null) abort.abort('cancelled' satisfies AbortReason);
        },
        () => undefined, // the store is down: keep running; the final write will tell
      );
    }, pollMs);
    poll.unref();
    try {
      for await (const event of spec.execute(abort.signal)) {
        if (abort.signal.aborted) break;
        if (event.type === 'response.created') continue; // ours (status queued) went out first
        if (event.type === 'response.completed' || event.type === 'response.incomplete' || event.type === 'response.failed') {
          await saveResponse(event.response, persist);
        }
        emit(event);
      }
      if (abort.signal.aborted) throw new Error(`background run aborted (${String(abort.signal.reason)})`);
    } catch (error) {
      if (abort.signal.reason === 'cancelled') return;
      const failed = failedResponse(spec.queued, error, abort.signal.reason === 'shutdown', options.now());
      spec.log.warn({ err: error, error_code: failed.error?.code }, 'background response failed');
      // Best effort: when the store is what failed, this write fails too (logged by saveResponse).
      await saveResponse(failed, persist).catch(() => undefined);
      emit({
        type: 'error',
        code: failed.error?.code ?? 'server_error',
        message: failed.error?.message ?? '',
        param: null,
        sequence_number: 0,
      } as ResponseStreamEvent);
      emit({ type: 'response.failed', response: failed, sequence_number: 0 });
    } finally {
      clearInterval(poll);
    }
  }

  return {
    async start(spec) {
      await store.save(spec.owner, { response: spec.queued as unknown as StoredResponseObject, inputItems: spec.inputItems, ancestorIds: spec.ancestorIds });
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
      entry?.abort.abort('cancelled' satisfies AbortReason);
      return entry !== undefined;
    },
    async drain(graceMs) {
      const all = () => Promise.allSettled([...running.values()].map((entry) => entry.run.finished));
      const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
      if ((await Promise.race([all(), timer])) !== 'timeout') return;
      for (const entry of running.values()) entry.abort.abort('shutdown' satisfies AbortReason);
      await all();
    },
  };
}

function failedResponse(queued: Response, error: unknown, shutdown: boolean, now: number): Response {
  const code = shutdown ? 'server_error' : error instanceof GatewayError ? (error.code ?? error.type) : 'server_error';
  const message = shutdown
    ? 'The gateway shut down before this background response finished.'
    : error instanceof GatewayError
      ? error.message
      : 'The server had an error while processing your request.';
  return { ...queued, status: 'failed', completed_at: now, error: { code, message } } as unknown as Response;
}
