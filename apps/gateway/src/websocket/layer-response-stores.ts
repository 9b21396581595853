import type { ResponseStore, StorableResponse, StoredItem } from '@rgw/response-store';

/**
 * One connection's view of stored responses: its own small cache (`top`, where store:false responses
 * live and nowhere else) over the shared store (`bottom`, store:true ones, any replica). Reads try the
 * cache first and fall through; writes and deletes stay in the cache (the turn runner saves store:true
 * responses to the shared store itself; a client deletes those over HTTP). Cancels and status reads
 * concern background runs, which never run on a socket: they go to the shared store.
 */
export function layerResponseStores<R extends StorableResponse>(top: ResponseStore<R>, bottom: ResponseStore<R>): ResponseStore<R> {
  return {
    save: (owner, record, options) => top.save(owner, record, options),
    async get(owner, responseId) {
      return (await top.get(owner, responseId)) ?? bottom.get(owner, responseId);
    },
    async getMany(owner, responseIds) {
      const cached = await top.getMany(owner, responseIds);
      const missing = responseIds.filter((_, index) => cached[index] === null);
      if (missing.length === 0) return cached;
      const shared = await bottom.getMany(owner, missing);
      let next = 0;
      return cached.map((record) => record ?? shared[next++] ?? null);
    },
    delete: (owner, responseId) => top.delete(owner, responseId),
    async findItems(owner, itemIds) {
      const found = new Map<string, StoredItem>(await top.findItems(owner, itemIds));
      const missing = itemIds.filter((id) => !found.has(id));
      if (missing.length > 0) for (const [id, item] of await bottom.findItems(owner, missing)) found.set(id, item);
      return found;
    },
    cancel: (owner, responseId) => bottom.cancel(owner, responseId),
    readStatus: (owner, responseId) => bottom.readStatus(owner, responseId),
  };
}
