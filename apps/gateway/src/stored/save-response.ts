import type { Logger } from 'pino';
import type { ResponseStore, StoredItem, StoredResponseObject } from '@rgw/response-store';
import type { Response } from '@rgw/responses';

export interface PersistOptions {
  readonly store: ResponseStore;
  readonly owner: string;
  readonly inputItems: readonly StoredItem[];
  readonly ancestorIds: readonly string[];
  readonly log: Logger;
  /** Background runs: never overwrite a cancel made meanwhile (possibly on another replica). */
  readonly unlessCancelled?: boolean;
  /** `JSON.stringify(response)`, when the answer serialised it already. */
  readonly responseJson?: string;
  /** Called when the write was refused because the response was cancelled. */
  readonly onCancelled?: () => void;
}

/**
 * Stores the final Response. Called by the pipeline before the terminal event goes out (see
 * ExecuteOptions.beforeTerminal) and by background runs. A failed save (Redis down or full, no
 * replica acknowledgement in time) is logged and rethrown as the store's 503 store_unavailable:
 * the pipeline then answers 503 (JSON) or `error` + `response.failed` (stream) instead of
 * acknowledging a response that may be gone (docs/cluster.md, "Nothing acknowledged is lost").
 */
export async function saveResponse(response: Response, options: PersistOptions): Promise<void> {
  try {
    const result = await options.store.save(
      options.owner,
      { response: response as unknown as StoredResponseObject, inputItems: options.inputItems, ancestorIds: options.ancestorIds },
      { unlessCancelled: options.unlessCancelled ?? false, ...(options.responseJson === undefined ? {} : { responseJson: options.responseJson }) },
    );
    if (result === 'cancelled') options.onCancelled?.();
  } catch (error) {
    options.log.warn({ err: error, response_id: response.id }, 'could not store the response; failing the request rather than acknowledging it');
    throw error;
  }
}
