import { createHash } from 'node:crypto';
import { defineScripts, KEY_PREFIX, loadLuaScript, type RedisClient, reply } from '@rgw/redis';
import type { ModelEntry } from './model-catalog.ts';

/**
 * Redis layout of the shared model list, shared by the worker (writer) and gateway replicas
 * (readers, fallback writers). One `{models}` hash tag: the publish script writes the snapshot and
 * the freshness marker together, so in Redis Cluster they must share a slot. The channel is not a
 * key (plain pub/sub reaches every node of a Cluster, also from inside a script).
 */
export const modelKeys = {
  snapshot: `${KEY_PREFIX}{models}:snapshot`,
  fresh: `${KEY_PREFIX}{models}:fresh`,
  lock: `${KEY_PREFIX}{models}:refresh-lock`,
  channel: `${KEY_PREFIX}models:changed`,
};

export const modelScripts = {
  publish: loadLuaScript({
    file: new URL('./lua/models-publish-2.lua', import.meta.url),
    keys: ['snapshot', 'fresh'],
    args: ['json', 'hash', 'freshTtlMs', 'channel', 'fetchedAt'],
    /** True when the list changed (written and published). */
    decode: (value) => reply.integer(value, 'models-publish') === 1,
  }),
  unlock: loadLuaScript({
    file: new URL('./lua/models-unlock-1.lua', import.meta.url),
    keys: ['lock'],
    args: ['token'],
    /** True when this caller still held the lock and released it. */
    decode: (value) => reply.integer(value, 'models-unlock') === 1,
  }),
};

/** Canonical form: sorted by id, so the same list always hashes the same. */
export function canonicaliseModels(models: readonly ModelEntry[]): { json: string; hash: string } {
  const sorted = [...models].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const json = JSON.stringify(sorted);
  return { json, hash: createHash('sha256').update(json).digest('hex') };
}

export interface PublishModelsOptions {
  /** After this long without a refresh the list counts as stale and replicas refresh it themselves, ms. */
  freshMs: number;
  /** Wall clock, ms (default Date.now). */
  now?: () => number;
}

/**
 * Write the list to Redis if it changed and tell every replica. Refuses an empty list ("fail
 * static": a backend glitch listing nothing must not wipe the catalogue). Returns true if changed.
 */
export async function publishModelSnapshot(redis: RedisClient, models: readonly ModelEntry[], options: PublishModelsOptions): Promise<boolean> {
  if (models.length === 0) throw new Error('refusing to publish an empty model list');
  const { json, hash } = canonicaliseModels(models);
  const { publish } = defineScripts(redis, modelScripts);
  return publish({
    keys: { snapshot: modelKeys.snapshot, fresh: modelKeys.fresh },
    args: { json, hash, freshTtlMs: Math.max(1, Math.round(options.freshMs)), channel: modelKeys.channel, fetchedAt: (options.now ?? Date.now)() },
  });
}
