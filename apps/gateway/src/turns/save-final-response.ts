import type { Logger } from 'pino';
import type { ResponseStore, StoredItem, StoredResponseObject } from '@rgw/response-store';
import type { Response } from '@rgw/responses';

/** Where and how a turn's Response is kept (absent from a turn: `store: false`, nothing is kept). */
export interface TurnPersistence {
  readonly store: ResponseStore;
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
 * run's progress. A failed save is logged and counted (by the instrumented store); the answer still goes
 * out: losing the stored copy is better than losing the answer.
 */
export async function saveFinalResponse(persist: TurnPersistence, response: Response, log: Logger, responseJson?: string): Promise<void> {
  try {
    await persist.store.save(
      persist.owner,
      { response: response as unknown as StoredResponseObject, inputItems: persist.inputItems, ancestorIds: persist.ancestorIds },
      { unlessCancelled: persist.unlessCancelled ?? false, ...(responseJson === undefined ? {} : { responseJson }) },
    );
  } catch (error) {
    log.warn({ err: error, response_id: response.id }, 'could not store the response; answering without storing it');
  }
}
