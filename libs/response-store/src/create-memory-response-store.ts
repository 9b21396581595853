import { LRUCache } from 'lru-cache';
import {
  type StorableResponse,
  type StoredResponseObject,
  typedResponseStore,
  CANCELLABLE_STATUSES,
  type CancelResult,
  ownerCandidates,
  serializeRecord,
  type ResponseStore,
  type StoredItem,
  type StoredResponseRecord,
} from './response-store.ts';

export interface MemoryResponseStoreOptions {
  /** Most responses kept (RESPONSE_STORE_MAX_ENTRIES, default 10 000); the least recently used go first. */
  readonly maxEntries: number;
  /** Lifetime of a response from its first save, in seconds (RESPONSES_TTL_SECONDS). */
  readonly ttlSeconds: number;
  /** Milliseconds since the epoch; injected so tests move time without sleeping. */
  readonly now?: () => number;
}

interface Entry {
  readonly responseId: string;
  /** The record as JSON text: a copy no caller can mutate, and more compact than the object graph. */
  json: string;
  status: string;
  readonly expiresAt: number;
  /**
   * The exact key strings this entry put in the item index. Removing with the same string objects
   * skips re-concatenating and re-hashing 120-character keys: that was most of an eviction's cost.
   */
  readonly itemKeys: readonly string[];
}

// JSON text instead of structuredClone: records are plain JSON (response-store.ts), and stringify +
// parse costs a fraction of two structured clones (docs/benchmarks.md, "memory save").
const recordOf = (entry: Entry): StoredResponseRecord => JSON.parse(entry.json) as StoredResponseRecord;

/**
 * The embedded-mode store: one process's memory, bounded by entry count and TTL. Records are kept
 * as JSON text and parsed on the way out, so callers can never mutate what is stored.
 */
export function createMemoryResponseStore<R extends StorableResponse = StoredResponseObject>(options: MemoryResponseStoreOptions): ResponseStore<R> {
  return typedResponseStore<R>(createMemoryResponseStoreJson(options));
}

function createMemoryResponseStoreJson(options: MemoryResponseStoreOptions): ResponseStore {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlSeconds * 1000;
  const keyOf = (owner: string, id: string) => `${owner}\0${id}`;
  const itemIndex = new Map<string, string>();
  // lru-cache rather than a Map re-inserted on access: a Map whose oldest keys are deleted keeps
  // their slots until it rehashes, and finding the oldest live key walks them (8.8 against 0.9 µs
  // per save at 10,000 entries, docs/benchmarks.md). Expiry stays ours, on the injected clock.
  const entries = new LRUCache<string, Entry>({
    max: options.maxEntries,
    // However an entry leaves (evicted, deleted, expired), its item ids stop resolving to it.
    dispose: (entry) => {
      for (const itemKey of entry.itemKeys) {
        if (itemIndex.get(itemKey) === entry.responseId) itemIndex.delete(itemKey);
      }
    },
  });

  /** The live entry under one owner hash, touched as recently used; an expired one is dropped on the way. */
  const readAs = (owner: string, responseId: string): Entry | undefined => {
    const key = keyOf(owner, responseId);
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  /** The owner hash (current key first, then previous keys) the response is stored under, with its entry. */
  const locate = (owner: string, responseId: string): { owner: string; entry: Entry } | undefined => {
    for (const candidate of ownerCandidates(owner)) {
      const entry = readAs(candidate, responseId);
      if (entry !== undefined) return { owner: candidate, entry };
    }
    return undefined;
  };
  const read = (owner: string, responseId: string): Entry | undefined => locate(owner, responseId)?.entry;

  return {
    async save(owner, record, saveOptions = {}) {
      const located = locate(owner, record.response.id);
      const existing = located?.entry;
      if (saveOptions.unlessCancelled && (existing === undefined || existing.status === 'cancelled')) return 'cancelled';
      const responseId = record.response.id;
      // A record keeps the owner hash it was created under (a previous key's, after a rotation).
      const recordOwner = located?.owner ?? ownerCandidates(owner)[0] ?? owner;
      const key = keyOf(recordOwner, responseId);
      const itemKeys = itemIdsOf(record).map((itemId) => keyOf(recordOwner, itemId));
      // Deleted first, so the old entry's index cleanup runs before the new item ids are indexed.
      if (existing) entries.delete(key);
      entries.set(key, {
        responseId,
        json: serializeRecord(record, saveOptions.responseJson),
        status: record.response.status,
        expiresAt: existing?.expiresAt ?? now() + ttlMs,
        itemKeys,
      });
      for (const itemKey of itemKeys) itemIndex.set(itemKey, responseId);
      return 'saved';
    },
    async get(owner, responseId) {
      const entry = read(owner, responseId);
      return entry ? recordOf(entry) : null;
    },
    async getMany(owner, responseIds) {
      return responseIds.map((responseId) => {
        const entry = read(owner, responseId);
        return entry ? recordOf(entry) : null;
      });
    },
    async delete(owner, responseId) {
      const located = locate(owner, responseId);
      return located !== undefined && entries.delete(keyOf(located.owner, responseId));
    },
    async findItems(owner, itemIds) {
      const found = new Map<string, StoredItem>();
      // Several references into one response parse it once.
      const parsed = new Map<string, StoredResponseRecord>();
      for (const itemId of itemIds) {
        const candidate = ownerCandidates(owner).find((hash) => itemIndex.has(keyOf(hash, itemId)));
        const responseId = candidate === undefined ? undefined : itemIndex.get(keyOf(candidate, itemId));
        const entry = responseId === undefined || candidate === undefined ? undefined : readAs(candidate, responseId);
        if (entry === undefined || responseId === undefined) continue;
        const record = parsed.get(responseId) ?? recordOf(entry);
        parsed.set(responseId, record);
        const item = findItem(record, itemId);
        if (item) found.set(itemId, item);
      }
      return found;
    },
    async cancel(owner, responseId): Promise<CancelResult> {
      const entry = read(owner, responseId);
      if (entry === undefined) return { kind: 'not_found' };
      const record = recordOf(entry);
      if (entry.status !== 'cancelled' && !CANCELLABLE_STATUSES.has(entry.status)) return { kind: 'finished', record };
      const cancelled = { ...record, response: { ...record.response, status: 'cancelled' } };
      entry.json = JSON.stringify(cancelled);
      entry.status = 'cancelled';
      return { kind: 'cancelled', record: cancelled };
    },
    async readStatus(owner, responseId) {
      return read(owner, responseId)?.status ?? null;
    },
  };
}

export function itemIdsOf(record: StoredResponseRecord): string[] {
  const ids = new Set<string>();
  for (const items of [record.inputItems, record.response.output]) {
    // Output items always carry ids; the guard keeps a malformed record from indexing "undefined".
    for (const { id } of items) if (typeof id === 'string' && id !== '') ids.add(id);
  }
  return [...ids];
}

/** Output first: an id that is both (a replayed item) resolves to the response's own version. */
export function findItem(record: StoredResponseRecord, itemId: string): StoredItem | undefined {
  return record.response.output.find((item) => item.id === itemId) ?? record.inputItems.find((item) => item.id === itemId);
}
