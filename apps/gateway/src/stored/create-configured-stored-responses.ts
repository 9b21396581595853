import type { Redis } from 'ioredis';
import type { GatewayConfig } from '@rgw/config';
import type { GatewayMetrics } from '@rgw/observability';
import { createMemoryResponseStore, createRedisResponseStore } from '@rgw/response-store';
import { type StoredResponses, createStoredResponses } from './stored-responses.ts';

export interface ConfiguredStoredResponses {
  readonly stored: StoredResponses;
  /** Shutdown: lets background runs finish for up to `graceMs`, then stores the rest as failed. Call before closing Redis. */
  close(graceMs: number): Promise<void>;
}

export interface ConfiguredStoredResponsesOptions {
  /** Cluster mode: the replica's fail-fast request-path client (`createRequestPathRedis`). Absent: embedded. */
  readonly redis: Redis | undefined;
  readonly metrics: GatewayMetrics;
  /** The secret owners are derived from; every replica must share it (the reasoning key). */
  readonly ownerSecret: string;
  /** Unix seconds. */
  readonly now: () => number;
}

/**
 * Embedded mode: a bounded in-memory LRU store (RESPONSE_STORE_MAX_ENTRIES, RESPONSES_TTL_SECONDS).
 * Cluster mode: Redis through the fail-fast client, so a down Redis costs a request ~0 ms
 * (store:true answers still go out; reads of stored responses answer 503 store_unavailable).
 */
export function createConfiguredStoredResponses(config: GatewayConfig, options: ConfiguredStoredResponsesOptions): ConfiguredStoredResponses {
  const store = options.redis
    ? createRedisResponseStore({ redis: options.redis, ttlSeconds: config.RESPONSES_TTL_SECONDS })
    : createMemoryResponseStore({ maxEntries: config.RESPONSE_STORE_MAX_ENTRIES, ttlSeconds: config.RESPONSES_TTL_SECONDS });
  const stored = createStoredResponses({ store, ownerSecret: options.ownerSecret, metrics: options.metrics, now: options.now });
  return { stored, close: (graceMs) => stored.runs.drain(graceMs) };
}
