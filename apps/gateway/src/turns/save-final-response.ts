import type { Logger } from 'pino';
import type { ResponseStore, StoredItem } from '@rgw/response-store';
import type { Response } from '@rgw/responses';

/** Where and how a turn's Response is kept (absent from a turn: `store: false`, nothing is kept). */
export interface TurnPersistence {
  readonly store: ResponseStore<Response>;
  /** The keyed hash of the caller's API key. */
  readonly owner: string;
  /** What `input_items` lists for this response: its own input, references resolved, with ids. */
  readonly inputItems: readonly StoredItem[];
  /** Earlier responses of the chain, oldest first. */
  readonly ancestorIds: readonly string[];
  /** Background runs: never overwrite a cancel made meanwhile (possibly on another replica). */
  readonly unlessCancelled?: boolean;
}

/**
 * Stores a Response: the turn runner's final one before its terminal event goes out, and a background
 * run's failure. A failed save (Redis down or full, no replica acknowledgement in time) is logged and
 * rethrown as the store's 503 store_unavailable: the turn then ends failed with that code (JSON: a 503;
 * a stream: `error` + `response.failed`) instead of acknowledging a response that may be gone
 * (docs/cluster.md, "Nothing acknowledged is lost").
 */
export async function saveFinalResponse(persist: TurnPersistence, response: Response, log: Logger, responseJson?: string): Promise<void> {
  try {
    await persist.store.save(
      persist.owner,
      { response: response, inputItems: persist.inputItems, ancestorIds: persist.ancestorIds },
      { unlessCancelled: persist.unlessCancelled ?? false, ...(responseJson === undefined ? {} : { responseJson }) },
    );
  } catch (error) {
    log.warn({ err: error, response_id: response.id }, 'could not store the response; failing the request rather than acknowledging it');
    throw error;
  }
}
