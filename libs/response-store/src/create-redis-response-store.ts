import type { Redis } from 'ioredis';
import { ServiceUnavailableError } from '@rgw/errors';
import { KEY_PREFIX, defineScripts, loadLuaScript } from '@rgw/redis';
import { findItem, itemIdsOf } from './create-memory-response-store.ts';
import { CANCELLABLE_STATUSES, type ResponseStore, serializeRecord, type StoredItem, type StoredResponseRecord } from './response-store.ts';

export interface RedisResponseStoreOptions {
  /** A fail-fast request-path client (`createRequestPathRedis`): a down Redis fails a call at once. */
  readonly redis: Redis;
  /** Lifetime of a response from its first save, in seconds (RESPONSES_TTL_SECONDS). */
  readonly ttlSeconds: number;
}

const scripts = {
  save: loadLuaScript(new URL('./save-response-n.lua', import.meta.url)),
  cancel: loadLuaScript(new URL('./cancel-response-1.lua', import.meta.url)),
};

/** `gw:v1:resp:<owner>:<response id>`: a hash {status, body}. */
export function responseKey(owner: string, responseId: string): string {
  return `${KEY_PREFIX}resp:${owner}:${responseId}`;
}

/** `gw:v1:resp:<owner>:item:<item id>` → response id, for `item_reference` inputs. Same TTL as the record. */
export function itemKey(owner: string, itemId: string): string {
  return `${KEY_PREFIX}resp:${owner}:item:${itemId}`;
}

/**
 * The cluster-mode store: every replica reads what any replica wrote, at once (no replication lag
 * on a single Redis). Layout: one hash per response (status + JSON body holding the Response, its
 * input items and its ancestors' ids), one small key per item id. Both expire after the TTL.
 */
export function createRedisResponseStore(options: RedisResponseStoreOptions): ResponseStore {
  const { redis, ttlSeconds } = options;
  const run = defineScripts(redis, scripts);

  return {
    save: (owner, record, saveOptions = {}) =>
      guard(async () => {
        const keys = [responseKey(owner, record.response.id), ...itemIdsOf(record).map((itemId) => itemKey(owner, itemId))];
        const ttl = Number(
          await run.save(keys, [
            record.response.status,
            serializeRecord(record, saveOptions.responseJson),
            ttlSeconds,
            saveOptions.unlessCancelled ? '1' : '0',
            record.response.id,
          ]),
        );
        return ttl <= 0 ? 'cancelled' : 'saved';
      }),
    get: (owner, responseId) => guard(async () => decode(await redis.hmget(responseKey(owner, responseId), 'status', 'body'))),
    getMany: (owner, responseIds) => guard(() => readMany(redis, owner, responseIds)),
    delete: (owner, responseId) =>
      guard(async () => {
        const key = responseKey(owner, responseId);
        const record = decode(await redis.hmget(key, 'status', 'body'));
        if (record === null) return false;
        const removed = await redis.del(key, ...itemIdsOf(record).map((itemId) => itemKey(owner, itemId)));
        return removed > 0;
      }),
    findItems: (owner, itemIds) =>
      guard(async () => {
        const found = new Map<string, StoredItem>();
        if (itemIds.length === 0) return found;
        const responseIds = await redis.mget(...itemIds.map((itemId) => itemKey(owner, itemId)));
        const unique = [...new Set(responseIds.filter((id): id is string => id !== null))];
        const records = new Map(unique.map((id, index) => [id, index]));
        const loaded = await readMany(redis, owner, unique);
        itemIds.forEach((itemId, index) => {
          const responseId = responseIds[index];
          const record = responseId == null ? null : loaded[records.get(responseId) ?? -1];
          const item = record ? findItem(record, itemId) : undefined;
          if (item) found.set(itemId, item);
        });
        return found;
      }),
    cancel: (owner, responseId) =>
      guard(async () => {
        const before = (await run.cancel([responseKey(owner, responseId)], [])) as string | null;
        if (before === null) return { kind: 'not_found' } as const;
        const record = decode(await redis.hmget(responseKey(owner, responseId), 'status', 'body'));
        if (record === null) return { kind: 'not_found' } as const;
        const cancelled = before === 'cancelled' || CANCELLABLE_STATUSES.has(before);
        return cancelled ? ({ kind: 'cancelled', record } as const) : ({ kind: 'finished', record } as const);
      }),
    readStatus: (owner, responseId) => guard(() => redis.hget(responseKey(owner, responseId), 'status')),
  };
}

async function readMany(redis: Redis, owner: string, responseIds: readonly string[]): Promise<(StoredResponseRecord | null)[]> {
  if (responseIds.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const responseId of responseIds) pipeline.hmget(responseKey(owner, responseId), 'status', 'body');
  return throwFirstError(await pipeline.exec()).map((fields) => decode(fields as (string | null)[]));
}

/** The hash's `status` field is the truth: a cancel changes it without rewriting the body. */
function decode([status, body]: (string | null)[]): StoredResponseRecord | null {
  if (status == null || body == null) return null;
  const record = JSON.parse(body) as StoredResponseRecord;
  return record.response.status === status ? record : { ...record, response: { ...record.response, status } };
}

function throwFirstError(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('redis pipeline was discarded');
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/** Any Redis failure (down, hung past commandTimeout, OOM) is a 503 for the caller to handle or render. */
async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new ServiceUnavailableError('The response store is unavailable; retry shortly.', { code: 'store_unavailable', cause: error });
  }
}
