import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createFailureReporter, describeFailure } from '@rgw/observability';
import { defineScripts, duplicateForSubscribe, isRedisReady, type RedisClient } from '@rgw/redis';
import { diffModelIds } from './diff-model-ids.ts';
import type { ListModels, ModelCatalog, ModelEntry } from './model-catalog.ts';
import { modelKeys, modelScripts, publishModelSnapshot } from './model-snapshot.ts';
import { parseModelList } from './model-list-schema.ts';
import { indexModels, resolveModel, type ModelIndex } from './resolve-model.ts';

export interface RedisModelCatalogOptions {
  listModels: ListModels;
  /** Request-path client (fail-fast). Not closed by `close()`. */
  redis: RedisClient;
  /** Connection for SUBSCRIBE. Default: a duplicate of `redis`, owned by the catalogue. */
  subscriber?: RedisClient;
  /** The worker's refresh period, ms (MODELS_REFRESH_SECONDS × 1000). */
  refreshMs: number;
  /** With no refresh for this long (worker down), one replica refreshes under a lock, ms. Default 3 × refreshMs. */
  staleAfterMs?: number;
  /** Backstop poll of the snapshot, ms (default min(5 000, refreshMs)): pub/sub loses messages sent while disconnected. */
  pollMs?: number;
  logger?: Logger;
  /** Wall clock, ms (default Date.now). */
  now?: () => number;
}

/** Longest a replica's fallback refresh may hold the lock, ms; the listing times out before that. */
const LOCK_MS = 35_000;
const LIST_TIMEOUT_MS = 30_000;

/**
 * Cluster catalogue: the worker writes the model list to Redis; replicas read it through a local
 * copy, replaced when the snapshot's hash changes (pub/sub, plus a poll as backstop). When the
 * list is stale (worker down), one replica at a time refreshes it under a Redis lock. When Redis
 * is down, the replica keeps its last list and, if it has none or it grew old, fetches directly.
 */
export function createRedisModelCatalog(options: RedisModelCatalogOptions): ModelCatalog {
  const { redis, logger } = options;
  const now = options.now ?? Date.now;
  const staleAfterMs = options.staleAfterMs ?? 3 * options.refreshMs;
  const scripts = defineScripts(redis, modelScripts);
  const ownsSubscriber = options.subscriber === undefined;
  const subscriber = options.subscriber ?? duplicateForSubscribe(redis);
  const abort = new AbortController();
  let index: ModelIndex | null = null;
  let hash: string | null = null;
  let fetchedAt: number | null = null;
  let refreshing: Promise<void> | undefined;
  let tickAgain = false;
  let closed = false;
  // Redis or the backend down for an hour is one warn line a minute with the reason, not a stack per pass.
  const failures = createFailureReporter({
    logger,
    message: 'model catalogue refresh failed; keeping the last list',
    recoveredMessage: 'model catalogue refresh works again',
  });

  function install(models: ModelEntry[], newHash: string | null, at: number): void {
    index = indexModels(models);
    hash = newHash;
    fetchedAt = at;
  }

  /** Read the snapshot; fetch its JSON only when the hash differs from the local copy. Returns whether Redis has one. */
  async function loadFromRedis(): Promise<boolean> {
    const [remoteHash, remoteFetchedAt] = await redis.hmget(modelKeys.snapshot, 'hash', 'fetchedAt');
    if (remoteHash === null || remoteHash === undefined) return false; // empty Redis: keep the local copy
    if (remoteHash !== hash) {
      const json = await redis.hget(modelKeys.snapshot, 'json');
      if (json === null) return false;
      const models = parseModelList({ data: JSON.parse(json) as unknown });
      if (models.length === 0) return false;
      const from = hash;
      const { added, removed } = diffModelIds(index?.models ?? [], models);
      install(models, remoteHash, Number(remoteFetchedAt ?? now()));
      logger?.info(
        { models: models.length, added: added.slice(0, 50), removed: removed.slice(0, 50), previousHash: from, hash: remoteHash },
        'model catalogue updated from Redis',
      );
    } else if (remoteFetchedAt !== null && remoteFetchedAt !== undefined) {
      fetchedAt = Number(remoteFetchedAt);
    }
    return true;
  }

  async function listWithTimeout(): Promise<ModelEntry[]> {
    return options.listModels(AbortSignal.any([abort.signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]));
  }

  /** Worker late or absent: refresh under the cluster lock, publish, and let pub/sub tell the others. */
  async function refreshUnderLock(): Promise<void> {
    const token = randomUUID();
    if ((await redis.set(modelKeys.lock, token, 'PX', LOCK_MS, 'NX')) !== 'OK') return; // another replica refreshes
    try {
      // Another replica may have refreshed between our freshness check and taking the lock.
      if ((await redis.pttl(modelKeys.fresh)) > 0) {
        await loadFromRedis();
        return;
      }
      const models = await listWithTimeout();
      if (models.length === 0) throw new Error('backend listed no models');
      await publishModelSnapshot(redis, models, { freshMs: staleAfterMs, now });
      await loadFromRedis();
      logger?.info({ models: models.length }, 'model list refreshed by this replica (worker late or down)');
    } finally {
      await scripts.unlock({ keys: { lock: modelKeys.lock }, args: { token } }).catch(() => undefined);
    }
  }

  /** Redis down: this replica fetches for itself (single flight), keeping the last list on failure. */
  async function refreshDirectly(): Promise<void> {
    const models = await listWithTimeout();
    if (models.length === 0) throw new Error('backend listed no models');
    install(models, null, now());
  }

  /** One pass: what to do depends on Redis's health and the list's freshness. Never throws. */
  function tick(): Promise<void> {
    if (refreshing !== undefined) {
      // A change announced during a pass may have been read before it happened: run once more after.
      tickAgain = true;
      return refreshing;
    }
    refreshing = (async () => {
      try {
        if (isRedisReady(redis)) {
          const present = await loadFromRedis();
          const fresh = (await redis.pttl(modelKeys.fresh)) > 0;
          if (!present || !fresh) await refreshUnderLock();
        } else if (index === null || fetchedAt === null || now() - fetchedAt > staleAfterMs) {
          await refreshDirectly();
        }
        if (index !== null) failures.recovered();
      } catch (error) {
        if (!closed) failures.failed(describeFailure(error));
      }
    })().finally(() => {
      refreshing = undefined;
      if (tickAgain && !closed) {
        tickAgain = false;
        void tick();
      }
    });
    return refreshing;
  }

  subscriber.on('error', () => {
    // Reported by the request-path client's state logging; an unhandled 'error' would crash.
  });
  // Ticks wait for start(): a subscriber that connects before the request-path client would
  // otherwise run a pass that finds Redis "down" and asks the backend directly, while start() is
  // still giving a healthy Redis its moment (seen as a flaky test under load).
  let started = false;
  subscriber.on('message', (channel: string) => {
    if (channel === modelKeys.channel && started) void tick();
  });
  const subscribeAndLoad = () => {
    void subscriber
      .subscribe(modelKeys.channel)
      .then(() => (started ? tick() : undefined))
      .catch(() => undefined);
  };
  subscriber.on('ready', subscribeAndLoad);
  if (subscriber.status === 'ready') subscribeAndLoad();
  let timer: NodeJS.Timeout | undefined;

  return {
    list: () => index?.models ?? null,
    get: (id: string) => index?.byId.get(id),
    resolve: (requested: string) => resolveModel(index, requested),
    ageSeconds: () => (fetchedAt === null ? null : Math.max(0, (now() - fetchedAt) / 1000)),
    lastError: () => failures.lastReason(),
    async start(): Promise<void> {
      // The client connects in the background; give it a moment so a healthy Redis is read first.
      const deadline = Date.now() + 1_000;
      while (!isRedisReady(redis) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      started = true;
      await tick();
      timer = setInterval(() => void tick(), options.pollMs ?? Math.min(5_000, options.refreshMs));
      timer.unref();
    },
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      abort.abort();
      if (ownsSubscriber) subscriber.disconnect();
      // Not awaited: with Redis down the command would wait in the offline queue forever, and
      // shutdown must not hang on Redis. The owner disconnects the subscriber anyway.
      else if (subscriber.status === 'ready') void subscriber.unsubscribe(modelKeys.channel).catch(() => undefined);
    },
  };
}
