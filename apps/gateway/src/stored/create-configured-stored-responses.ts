import type { GatewayConfig } from '@rgw/config';
import type { GatewayMetrics } from '@rgw/observability';
import type { RedisClient, RedisHealthProbe } from '@rgw/redis';
import { createMemoryResponseStore, createRedisResponseStore } from '@rgw/response-store';
import type { Response } from '@rgw/responses';
import { type StoredResponses, createStoredResponses } from './stored-responses.ts';

export interface ConfiguredStoredResponses {
  readonly stored: StoredResponses;
  /** Shutdown: lets background runs finish for up to `graceMs`, then stores the rest as failed. Call before closing Redis. */
  close(graceMs: number): Promise<void>;
}

export interface ConfiguredStoredResponsesOptions {
  /** Cluster mode: Redis (fail-fast reads, a writer connection for saves and their WAIT, the health probe). Absent: embedded. */
  readonly redis?: { readonly reads: RedisClient; readonly writes: RedisClient; readonly health: RedisHealthProbe } | undefined;
  readonly metrics: GatewayMetrics;
  /** The secrets owners are derived from, current first (then previous keys, after a rotation); shared by every replica. */
  readonly ownerSecrets: readonly string[];
  /** Unix seconds. */
  readonly now: () => number;
}

/**
 * Embedded mode: a bounded in-memory LRU store (RESPONSE_STORE_MAX_ENTRIES, RESPONSES_TTL_SECONDS).
 * Cluster mode: Redis. A save resolves only once it is durable as far as the deployment allows (a
 * replica acknowledged it, REDIS_REPLICA_ACK_TIMEOUT_MS), else it rejects with a 503: a store:true
 * request then fails cleanly instead of answering for a response that may be gone. While the probe
 * sees Redis failing, store:true requests are refused before any backend call (assertWritable).
 */
export function createConfiguredStoredResponses(config: GatewayConfig, options: ConfiguredStoredResponsesOptions): ConfiguredStoredResponses {
  const redis = options.redis;
  const store = redis
    ? createRedisResponseStore<Response>({
        redis: redis.reads,
        writer: redis.writes,
        ttlSeconds: config.RESPONSES_TTL_SECONDS,
        replicaAck: {
          replicasFor: (key) => redis.health.replicasFor(key),
          replicasExpected: () => redis.health.replicasExpected(),
          timeoutMs: config.REDIS_REPLICA_ACK_TIMEOUT_MS,
        },
        health: () => redis.health.current(),
      })
    : createMemoryResponseStore<Response>({ maxEntries: config.RESPONSE_STORE_MAX_ENTRIES, ttlSeconds: config.RESPONSES_TTL_SECONDS });
  const stored = createStoredResponses({
    store,
    ownerSecret: options.ownerSecrets,
    metrics: options.metrics,
    now: options.now,
  });
  return { stored, close: (graceMs) => stored.runs.drain(graceMs) };
}
