import { ServiceUnavailableError } from '@rgw/errors';

/**
 * What the gateway keeps of a stored response, and the one interface both stores implement
 * (memory LRU for embedded mode, Redis for cluster mode). Values are plain JSON: the store never
 * interprets a Response beyond `id`, `status` and the ids of its items.
 */

/** An input or output item as stored: always with an `id` (assigned when the client sent none). */
export interface StoredItem {
  readonly id: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * What the store reads of the Response it keeps: its id, its status (queued/in_progress while a
 * background run goes on) and the ids of its output items. Stores are generic over the Response type
 * (the gateway's is the openai package's `Response`), so callers put in and get back their own type.
 */
export interface StorableResponse {
  readonly id: string;
  readonly status?: string | undefined;
  readonly output: readonly { readonly id?: string | undefined; readonly type: string }[];
}

/** A Response as plain JSON: the store's default type parameter (tests, tools). */
export interface StoredResponseObject extends StorableResponse {
  readonly status: string;
  readonly output: readonly StoredItem[];
  readonly [field: string]: unknown;
}

export interface StoredResponseRecord<R extends StorableResponse = StoredResponseObject> {
  readonly response: R;
  /** The request's own input (item references resolved, earlier turns not repeated), with ids. */
  readonly inputItems: readonly StoredItem[];
  /**
   * Every earlier response of the conversation, oldest first, ending with `previous_response_id`.
   * Kept on each record so a chain is read in one round trip instead of one per turn.
   */
  readonly ancestorIds: readonly string[];
}

/** Statuses a background run can still leave; only these can be cancelled. */
export const CANCELLABLE_STATUSES: ReadonlySet<string> = new Set(['queued', 'in_progress']);

/** `cancelled`: a conditional save was refused (the response was cancelled or deleted). */
export type SaveResult = 'saved' | 'cancelled';

export type CancelResult<R extends StorableResponse = StoredResponseObject> =
  | { readonly kind: 'not_found' }
  /** Now `cancelled` (it was queued or in progress), or it already was. */
  | { readonly kind: 'cancelled'; readonly record: StoredResponseRecord<R> }
  /** Finished before the cancel arrived (completed, failed, incomplete): left as it is. */
  | { readonly kind: 'finished'; readonly record: StoredResponseRecord<R> };

export interface SaveOptions {
  /**
   * A background run's progress and final writes: refused (result `cancelled`) when the stored
   * response was cancelled or deleted meanwhile, possibly on another replica, so a run never
   * overwrites a cancel nor re-creates a deleted response.
   */
  readonly unlessCancelled?: boolean;
  /**
   * `JSON.stringify(record.response)`, when the caller has it already (a JSON answer's body): the
   * record is then written around that text instead of serialising the Response a second time.
   */
  readonly responseJson?: string;
}

/** The record as stored, as JSON text; `responseJson` is the Response already serialised, if at hand. */
export function serializeRecord(record: StoredResponseRecord<StorableResponse>, responseJson?: string): string {
  if (responseJson === undefined) return JSON.stringify(record);
  // Every other field serialised as usual, so a field added to the record is never left out here.
  const { response: _serialised, ...rest } = record;
  const others = JSON.stringify(rest);
  return others === '{}' ? `{"response":${responseJson}}` : `{"response":${responseJson},${others.slice(1)}`;
}

/**
 * Why a store call failed: Redis unreachable or failing (`unavailable`), a save no replica
 * acknowledged in time (`replica_ack`), Redis out of memory under `noeviction` (`full`).
 */
export type StoreFailureReason = 'unavailable' | 'replica_ack' | 'full';

const FAILURE_MESSAGES: Readonly<Record<StoreFailureReason, string>> = {
  unavailable: 'The response store is unavailable; retry shortly.',
  replica_ack: 'The response store could not confirm the response was replicated, so it was not kept; retry shortly.',
  full: 'The response store is full, so the response could not be kept; retry later, or send store:false.',
};
const RETRY_AFTER_SECONDS: Readonly<Record<StoreFailureReason, number>> = { unavailable: 1, replica_ack: 1, full: 10 };

/** 503 store_unavailable with `retry-after`, carrying why (for gateway_response_store_failures_total). */
export class StoreUnavailableError extends ServiceUnavailableError {
  readonly reason: StoreFailureReason;
  constructor(reason: StoreFailureReason, cause?: unknown) {
    super(FAILURE_MESSAGES[reason], {
      code: 'store_unavailable',
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS[reason]) },
      ...(cause === undefined ? {} : { cause }),
    });
    this.reason = reason;
  }
}

/**
 * An owner as the gateway passes it: the keyed hash of the API key under the current secret, then
 * (comma-separated) its hashes under previous secrets, still accepted after a key rotation. Writes
 * use the first; reads accept any. Opaque to callers: they pass on what `ownerOf` gave them.
 */
export function ownerCandidates(owner: string): string[] {
  return owner.split(',');
}

/**
 * Responses are private to the owner (a keyed hash of the API key): every method takes it, and a
 * response saved under one owner does not exist for another. Methods reject with a 503
 * `store_unavailable` ServiceUnavailableError (a StoreUnavailableError) when the backing Redis cannot
 * answer, and `save` also when no replica acknowledged the write in time or Redis is full: a save
 * that resolved is durable as far as the deployment allows.
 */
export interface ResponseStore<R extends StorableResponse = StoredResponseObject> {
  /** Create or replace a record (TTL counted from the first save of the record's id). */
  save(owner: string, record: StoredResponseRecord<R>, options?: SaveOptions): Promise<SaveResult>;
  get(owner: string, responseId: string): Promise<StoredResponseRecord<R> | null>;
  /** Several records in one round trip, in the order asked; null for unknown ids. */
  getMany(owner: string, responseIds: readonly string[]): Promise<(StoredResponseRecord<R> | null)[]>;
  /** True when it existed. Its items stop resolving as item references too. */
  delete(owner: string, responseId: string): Promise<boolean>;
  /** Items (input or output) of the owner's stored responses, by item id; unknown ids are absent. */
  findItems(owner: string, itemIds: readonly string[]): Promise<ReadonlyMap<string, StoredItem>>;
  /** Marks a queued or in-progress response cancelled; see CancelResult. */
  cancel(owner: string, responseId: string): Promise<CancelResult<R>>;
  /** Cheap status read for a background runner polling for a cancel from another replica. */
  readStatus(owner: string, responseId: string): Promise<string | null>;
  /**
   * Throws a StoreUnavailableError when a save is known to fail now (the health probe sees Redis
   * failing), so a store:true request is refused before any backend call. Absent or silent: go ahead.
   */
  assertWritable?(): void;
}

/**
 * A store made over plain JSON records, typed by what its caller keeps in it. Sound because a store
 * returns exactly the JSON it was given (the status aside, which stays a status): the one place the
 * caller's type meets the JSON boundary.
 */
export function typedResponseStore<R extends StorableResponse>(store: ResponseStore): ResponseStore<R> {
  return store as unknown as ResponseStore<R>;
}
