import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { LRUCache } from 'lru-cache';
import {
  classifyRedisError,
  connectionOf,
  defineScripts,
  KEY_PREFIX,
  LEGACY_KEY_PREFIX,
  loadLuaScript,
  queueScript,
  type RedisClient,
  type RedisProblem,
  reply,
} from '@rgw/redis';
import { findItem, itemIdsOf } from './create-memory-response-store.ts';
import { decodeStoredText, encodeStoredText } from './encode-stored-text.ts';
import {
  type StorableResponse,
  type StoredResponseObject,
  typedResponseStore,
  CANCELLABLE_STATUSES,
  ownerCandidates,
  type ResponseStore,
  type StoredItem,
  type StoredResponseRecord,
  StoreUnavailableError,
  serializeRecord,
} from './response-store.ts';
import { type SharedField, splitSharedFields } from './split-shared-fields.ts';

export interface ReplicaAcknowledgement {
  /** Connected replicas of the master serving `key` (the health probe's `replicasFor`); 0 or null: nothing to wait for. */
  readonly replicasFor: (key: string) => number | null;
  /** `WAIT 1 <timeoutMs>` after each write (REDIS_REPLICA_ACK_TIMEOUT_MS); past it the save fails. */
  readonly timeoutMs: number;
  /**
   * The deployment has replicas (the probe's `replicasExpected`): a master seen with none is then
   * alone by accident (a replica down, a failover under way) and a save there is refused before it
   * is written, never acknowledged alone.
   */
  readonly replicasExpected?: () => boolean;
}

export interface RedisResponseStoreOptions {
  /** A fail-fast request-path client (`RedisClients.requestPath`): a down Redis fails a read at once. */
  readonly redis: RedisClient;
  /**
   * The client for writes, default `redis`. `WAIT` blocks the connection it runs on, so the gateway
   * gives writes their own connection (and a command timeout above the WAIT bound): a slow replica
   * then never delays the breaker's or the rate limiter's commands.
   */
  readonly writer?: RedisClient;
  /** Lifetime of a response from its first save, in seconds (RESPONSES_TTL_SECONDS). */
  readonly ttlSeconds: number;
  /** When set, a save resolves only once a replica has it (if the master has replicas). */
  readonly replicaAck?: ReplicaAcknowledgement;
  /** The health probe's verdict; a save while it says down is refused at once (assertWritable). */
  readonly health?: () => { readonly up: boolean | null; readonly reason: RedisProblem | null };
  /** Read responses the gw:v1 layout stored when v2 has none (default true; see docs/cluster.md, rolling deploy). */
  readonly readLegacyLayout?: boolean;
}

/**
 * `gw:v2:resp:{<response id>}`: a hash {status, owner, body}. Tagged by response id, so stored
 * responses spread over every shard of a Redis Cluster (one owner's history is not pinned to one).
 */
export function responseKey(responseId: string): string {
  return `${KEY_PREFIX}resp:{${responseId}}`;
}

/**
 * `gw:v2:item:<128 bits of SHA-256 over owner and item id, base64url>` → response id, for
 * `item_reference` inputs; same TTL as the record. Owner-scoped (clients choose item ids, so two
 * tenants may use the same one), and short: three or four of these per turn were an eighth of a
 * stored turn's memory with the owner and id spelled out.
 */
export function itemKey(owner: string, itemId: string): string {
  return `${KEY_PREFIX}item:${createHash('sha256').update(owner).update('\0').update(itemId).digest().subarray(0, 16).toString('base64url')}`;
}

/** `gw:v2:blob:{<id>}`: a shared field (tool list, instructions) many records of one owner reference; see split-shared-fields.ts. */
export function blobKey(id: string): string {
  return `${KEY_PREFIX}blob:{${id}}`;
}

const scripts = {
  save: loadLuaScript({
    file: new URL('./save-response-1.lua', import.meta.url),
    keys: ['record'],
    args: ['status', 'owner', 'acceptedOwners', 'body', 'ttlSeconds', 'unlessCancelled'],
    /** Remaining TTL in seconds when saved, 0 when refused (cancelled or gone), -1 another owner's record. */
    decode: (value) => reply.integer(value, 'save-response'),
  }),
  touchBlob: loadLuaScript({
    file: new URL('./touch-shared-blob-1.lua', import.meta.url),
    keys: ['blob'],
    args: ['ttlSeconds', 'content'],
    decode: (value) => reply.integer(value, 'touch-shared-blob') === 1,
  }),
  cancel: loadLuaScript({
    file: new URL('./cancel-response-1.lua', import.meta.url),
    keys: ['record'],
    args: ['acceptedOwners'],
    /** The status before the cancel; null: no such record for this owner. */
    decode: (value) => reply.nullableString(value, 'cancel-response'),
  }),
};

interface RecordFields {
  readonly status: string;
  readonly owner: string;
  readonly body: Buffer;
  /** Set when the record is a gw:v1 one (read-only, deleted there). */
  readonly legacyKey: string | null;
}

/** `gw:v2:resp:{<id>}` → `<id>`. */
function responseIdOf(key: string): string {
  return key.slice(`${KEY_PREFIX}resp:{`.length, -1);
}

/** One write and the key that decides its connection. */
interface Write {
  readonly key: string;
  readonly queue: (pipeline: ChainableCommander) => void;
}

/** The record body as stored: the record, with shared fields nulled in the Response and listed here by blob id. */
interface StoredBody extends StoredResponseRecord {
  readonly shared?: Partial<Record<SharedField, string>>;
}

/**
 * The cluster-mode store: every replica reads what any replica wrote, at once. Layout (v2, Redis
 * Cluster–safe): one hash per response (status, owner, body: JSON, deflated when large), one key
 * per item id, and one content-addressed blob per shared tool list or instructions. A save writes
 * the blobs, then the record (one script: conditional on cancels, owner-checked), then the item
 * keys; with replicas, each write waits for one replica (WAIT) before the save resolves.
 */
export function createRedisResponseStore<R extends StorableResponse = StoredResponseObject>(options: RedisResponseStoreOptions): ResponseStore<R> {
  return typedResponseStore<R>(createRedisResponseStoreJson(options));
}

function createRedisResponseStoreJson(options: RedisResponseStoreOptions): ResponseStore {
  const { redis, ttlSeconds } = options;
  const writer = options.writer ?? redis;
  const legacy = options.readLegacyLayout ?? true;
  // Registered up front: a pipeline only knows the scripts its client had when it was created.
  defineScripts(writer, scripts);
  // Blobs this process wrote lately: their next reference sends only a TTL refresh, not 18 KB again.
  const knownBlobs = new LRUCache<string, true>({ max: 10_000, ttl: 3_600_000 });

  /**
   * Run writes, one pipeline per connection (per Cluster master) in parallel, each followed by
   * `WAIT 1 <bound>` when its master has replicas. Resolves with each write's reply, in order;
   * rejects when a master's replicas did not acknowledge in time.
   */
  async function write(writes: readonly Write[]): Promise<unknown[]> {
    const ack = options.replicaAck;
    const groups = new Map<string, number[]>();
    writes.forEach((entry, index) => {
      const connection = connectionOf(writer, entry.key);
      groups.set(connection, [...(groups.get(connection) ?? []), index]);
    });
    const replies: unknown[] = Array.from({ length: writes.length });
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const first = writes[indexes[0] ?? 0];
        const waiting = ack !== undefined && ack.timeoutMs > 0 && first !== undefined;
        const known = waiting ? ack.replicasFor(first.key) : 0;
        const expected = waiting && (ack.replicasExpected?.() ?? false);
        // Alone where replicas belong: what it wrote could vanish in a failover (an old master's
        // writes are discarded when it is demoted). Refused before anything is written.
        if (expected && known === 0) throw new StoreUnavailableError('replica_ack');
        const mustWait = waiting && ((known ?? 0) > 0 || expected);
        const pipeline = writer.pipeline();
        for (const index of indexes) writes[index]?.queue(pipeline);
        if (mustWait) pipeline.call('WAIT', 1, ack.timeoutMs);
        const results = throwFirstError(await pipeline.exec());
        if (mustWait) {
          const acknowledged = Number(results.pop());
          // Replication is asynchronous: without an acknowledgement a failover could lose these writes.
          if (!(acknowledged >= 1)) throw new StoreUnavailableError('replica_ack');
        }
        indexes.forEach((index, position) => {
          replies[index] = results[position];
        });
      }),
    );
    return replies;
  }

  async function touchBlob(id: string, json: string): Promise<void> {
    const key = blobKey(id);
    const send = async (content: Buffer | '') => {
      const [touched] = await write([
        { key, queue: (pipeline) => queueScript(writer, pipeline, scripts.touchBlob, { keys: { blob: key }, args: { ttlSeconds, content } }) },
      ]);
      return scripts.touchBlob.decode(touched);
    };
    if (knownBlobs.has(key) && (await send(''))) return;
    if (!(await send(await encodeStoredText(json, { level: 6 })))) throw new Error(`shared blob ${key} was not written`);
    knownBlobs.set(key, true);
  }

  /** The record's fields, or null when it is missing or another owner's. */
  async function readFields(key: string, owner: string): Promise<RecordFields | null> {
    const [status, storedOwner, body] = await redis.hmgetBuffer(key, 'status', 'owner', 'body');
    if (!status || !storedOwner || !body) return legacy ? readLegacyFields(key, owner) : null;
    const recordOwner = storedOwner.toString('utf8');
    return ownerCandidates(owner).includes(recordOwner) ? { status: status.toString('utf8'), owner: recordOwner, body, legacyKey: null } : null;
  }

  /**
   * The record as the gw:v1 layout wrote it (`gw:v1:resp:<owner>:<id>`, plain JSON), read-only: a
   * conversation stored before the upgrade stays readable and chainable after it (same secret).
   */
  async function readLegacyFields(key: string, owner: string): Promise<RecordFields | null> {
    const responseId = responseIdOf(key);
    for (const candidate of ownerCandidates(owner)) {
      const legacyKey = `${LEGACY_KEY_PREFIX}resp:${candidate}:${responseId}`;
      const [status, body] = await redis.hmgetBuffer(legacyKey, 'status', 'body');
      if (status && body) return { status: status.toString('utf8'), owner: candidate, body, legacyKey };
    }
    return null;
  }

  /** Null for a missing or foreign record. `blobs` caches shared fields across the records of one call. */
  async function readRecord(key: string, owner: string, blobs = new Map<string, Promise<unknown>>()): Promise<StoredResponseRecord | null> {
    const fields = await readFields(key, owner);
    if (fields === null) return null;
    return restore(JSON.parse(await decodeStoredText(fields.body)) as StoredBody, fields.status, blobs);
  }

  /** Shared fields are fetched (once per call: a chain shares its tool list) and put back where they were. */
  async function restore(stored: StoredBody, status: string, blobs: Map<string, Promise<unknown>>): Promise<StoredResponseRecord> {
    const { shared, ...record } = stored;
    // The hash's `status` field is the truth: a cancel changes it without rewriting the body.
    let response = record.response.status === status ? record.response : { ...record.response, status };
    if (shared !== undefined) {
      response = { ...response };
      for (const [field, id] of Object.entries(shared)) {
        const key = blobKey(id);
        let value = blobs.get(key);
        if (value === undefined) {
          value = redis.getBuffer(key).then(async (content) => {
            // Blobs outlive every record that references them (TTL refreshed on each save): a missing one is lost data, not "absent".
            if (content === null) throw new Error(`shared blob ${key} of response ${record.response.id} is missing`);
            return JSON.parse(await decodeStoredText(content)) as unknown;
          });
          blobs.set(key, value);
        }
        (response as Record<string, unknown>)[field] = await value;
      }
    }
    return { ...record, response };
  }

  async function readMany(owner: string, responseIds: readonly string[]): Promise<(StoredResponseRecord | null)[]> {
    if (responseIds.length === 0) return [];
    const blobs = new Map<string, Promise<unknown>>();
    // One command per record: in a Cluster they sit on different shards (ioredis routes each; they go out together).
    return Promise.all(responseIds.map((responseId) => readRecord(responseKey(responseId), owner, blobs)));
  }

  return {
    save: (owner, record, saveOptions = {}) =>
      guard(async () => {
        const candidates = ownerCandidates(owner);
        const writeOwner = candidates[0] ?? owner;
        const split = splitSharedFields(writeOwner, record.response, saveOptions.responseJson);
        // Blobs first: a record never references a blob that is not there.
        await Promise.all(split.shared.map((part) => touchBlob(part.id, part.json)));
        const shared = split.shared.length === 0 ? undefined : Object.fromEntries(split.shared.map((part) => [part.field, part.id]));
        const json = serializeRecord(
          { ...record, response: split.response, ...(shared === undefined ? {} : { shared }) } as StoredResponseRecord,
          split.responseJson,
        );
        const key = responseKey(record.response.id);
        const body = await encodeStoredText(json, { record: true, level: 6 });
        const saveRecord: Write = {
          key,
          queue: (pipeline) =>
            queueScript(writer, pipeline, scripts.save, {
              keys: { record: key },
              args: {
                status: record.response.status,
                owner: writeOwner,
                acceptedOwners: candidates.join(','),
                body,
                ttlSeconds,
                unlessCancelled: saveOptions.unlessCancelled ? '1' : '0',
              },
            }),
        };
        const itemWrites = (ttl: number): Write[] =>
          itemIdsOf(record).map((itemId) => {
            const name = itemKey(writeOwner, itemId);
            return { key: name, queue: (pipeline) => pipeline.set(name, record.response.id, 'EX', ttl) };
          });
        let ttl: number;
        if (saveOptions.unlessCancelled) {
          // A background run's update: the item keys only once the record took it (not cancelled meanwhile), with its remaining TTL.
          ttl = scripts.save.decode((await write([saveRecord]))[0]);
          if (ttl > 0) await write(itemWrites(ttl));
        } else {
          // A new response (ids are never reused): record and item keys in one round, per connection.
          ttl = scripts.save.decode((await write([saveRecord, ...itemWrites(ttlSeconds)]))[0]);
        }
        if (ttl === -1) throw new Error(`response ${record.response.id} belongs to another owner`);
        return ttl > 0 ? 'saved' : 'cancelled';
      }),
    get: (owner, responseId) => guard(() => readRecord(responseKey(responseId), owner)),
    getMany: (owner, responseIds) => guard(() => readMany(owner, responseIds)),
    delete: (owner, responseId) =>
      guard(async () => {
        const key = responseKey(responseId);
        const fields = await readFields(key, owner);
        if (fields === null) return false;
        const recordOwner = fields.owner;
        const { legacyKey } = fields;
        // The body names the items; their keys live in other slots, so one DEL each (per connection).
        const record = JSON.parse(await decodeStoredText(fields.body)) as StoredBody;
        const [removed] = await write([
          { key: legacyKey ?? key, queue: (pipeline) => pipeline.del(legacyKey ?? key) },
          ...itemIdsOf(record).map((itemId): Write => {
            const name = legacyKey === null ? itemKey(recordOwner, itemId) : `${LEGACY_KEY_PREFIX}resp:${recordOwner}:item:${itemId}`;
            return { key: name, queue: (pipeline) => pipeline.del(name) };
          }),
        ]);
        return Number(removed) > 0;
      }),
    findItems: (owner, itemIds) =>
      guard(async () => {
        const found = new Map<string, StoredItem>();
        if (itemIds.length === 0) return found;
        const candidates = ownerCandidates(owner);
        // One GET per item key and owner candidate: the keys sit on different Cluster shards.
        const responseIds = await Promise.all(
          itemIds.map(async (itemId) => {
            for (const candidate of candidates) {
              const responseId = await redis.get(itemKey(candidate, itemId));
              if (responseId !== null) return responseId;
            }
            if (!legacy) return null;
            for (const candidate of candidates) {
              const responseId = await redis.get(`${LEGACY_KEY_PREFIX}resp:${candidate}:item:${itemId}`);
              if (responseId !== null) return responseId;
            }
            return null;
          }),
        );
        const unique = [...new Set(responseIds.filter((id): id is string => id !== null))];
        const loaded = new Map((await readMany(owner, unique)).map((record, index) => [unique[index], record]));
        itemIds.forEach((itemId, index) => {
          const responseId = responseIds[index];
          const record = responseId === null || responseId === undefined ? null : loaded.get(responseId);
          const item = record ? findItem(record, itemId) : undefined;
          if (item) found.set(itemId, item);
        });
        return found;
      }),
    cancel: (owner, responseId) =>
      guard(async () => {
        const key = responseKey(responseId);
        const [before] = await write([
          {
            key,
            queue: (pipeline) =>
              queueScript(writer, pipeline, scripts.cancel, { keys: { record: key }, args: { acceptedOwners: ownerCandidates(owner).join(',') } }),
          },
        ]);
        const status = scripts.cancel.decode(before);
        if (status === null) {
          // A gw:v1 record is read-only: its run ended with the deploy that replaced its replica.
          const old = legacy ? await readRecord(key, owner) : null;
          return old === null ? ({ kind: 'not_found' } as const) : ({ kind: 'finished', record: old } as const);
        }
        const record = await readRecord(key, owner);
        if (record === null) return { kind: 'not_found' } as const;
        const cancelled = status === 'cancelled' || CANCELLABLE_STATUSES.has(status);
        return cancelled ? ({ kind: 'cancelled', record } as const) : ({ kind: 'finished', record } as const);
      }),
    readStatus: (owner, responseId) =>
      guard(async () => {
        const [status, storedOwner] = await redis.hmget(responseKey(responseId), 'status', 'owner');
        return status && storedOwner && ownerCandidates(owner).includes(storedOwner) ? status : null;
      }),
    assertWritable() {
      const health = options.health?.();
      if (health?.up === false) throw new StoreUnavailableError(health.reason === 'oom' ? 'full' : 'unavailable');
    },
  };
}

function throwFirstError(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('redis pipeline was discarded');
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/**
 * Any Redis failure (down, hung past commandTimeout, OOM, no replica acknowledgement) is a 503
 * StoreUnavailableError for the caller to handle or render, with the reason for the metrics.
 */
async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(classifyRedisError(error) === 'oom' ? 'full' : 'unavailable', error);
  }
}
