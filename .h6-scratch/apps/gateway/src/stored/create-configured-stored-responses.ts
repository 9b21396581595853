import type { Logger } from 'pino';
import type { GatewayConfig } from '@rgw/config';
import type { GatewayMetrics } from '@rgw/observability';
import { createRequestPathRedis } from '@rgw/redis';
import { createMemoryResponseStore, createRedisResponseStore } from '@rgw/response-store';
import { type StoredResponses, createStoredResponses } from './stored-responses.ts';

export interface ConfiguredStoredResponses {
  readonly stored: StoredResponses;
  /** Shutdown: lets background runs finish for up to `graceMs` (then stores them as failed) and closes Redis. */
  close(graceMs: number): Promise<void>;
}

/**
 * Embedded mode (no REDIS_URL): a bounded in-memory LRU store. Cluster mode: Redis, through its own
 * fail-fast client, so a down Redis costs a request ~0 ms (store:true answers still go out; reads
 * of stored responses answer 503 store_unavailable).
 */
export function createConfiguredStoredResponses(
  config: GatewayConfig,
  options: { readonly logger: Logger; readonly metrics: GatewayMetrics; readonly ownerSecret: string; readonly now: () => number },
): ConfiguredStoredResponses {
  const redis = config.REDIS_URL ? createRequestPathRedis(config.REDIS_URL, { logger: options.logger, name: 'response-store' }) : null;
  const store = redis
    ? createRedisResponseStore({ redis, ttlSeconds: config.RESPONSES_TTL_SECONDS })
    : createMemoryResponseStore({ maxEntries: config.RESPONSE_STORE_MAX_ENTRIES, ttlSeconds: config.RESPONSES_TTL_SECONDS });
  const stored = createStoredResponses({ store, ownerSecret: options.ownerSecret, metrics: options.metrics, now: options.now });
  return {
    stored,
    async close(graceMs) {
      await stored.runs.drain(graceMs);
      redis?.disconnect();
    },
  };
}
