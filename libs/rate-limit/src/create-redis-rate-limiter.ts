import type { Logger } from 'pino';
import { defineScripts, isRedisReady, KEY_PREFIX, type RedisClient } from '@rgw/redis';
import { createMemoryRateLimiter } from './create-memory-rate-limiter.ts';
import { rateLimitScripts } from './rate-limit-scripts.ts';
import type { RateLimitDecision, RateLimiter } from './rate-limiter.ts';

export interface RedisRateLimiterOptions {
  /** Request-path client (`RedisClients.requestPath`: fail-fast). Not closed by the limiter. */
  readonly redis: RedisClient;
  /** Units (requests) per window per key, shared by every replica. */
  readonly limit: number;
  /** Window length, ms (default 60 000). */
  readonly windowMs?: number;
  /** Default 'gw:v2:rl:'. */
  readonly keyPrefix?: string;
  /**
   * Decides while Redis is unreachable (default: an in-memory limiter with the same limit, i.e. per
   * replica). Never "no limit": a Redis outage must not open the gate to a flood.
   */
  readonly fallback?: RateLimiter;
  /** After a Redis error the fallback decides for this long, ms (default 1 000): a hung Redis costs one commandTimeout per period, not per request. */
  readonly redisCooldownMs?: number;
  readonly logger?: Logger;
  /** Clock in ms (default Date.now), for the cooldown only; windows use Redis's clock. */
  readonly now?: () => number;
}

export interface RedisRateLimiter extends RateLimiter {
  /** Which limiter decides right now: 'redis' (shared by the cluster) or 'local' (Redis unreachable). */
  backend(): 'redis' | 'local';
}

/** A per-key sliding-window limit shared by all replicas through one Lua script (one round trip per request). */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  const { redis, limit, logger } = options;
  const windowMs = options.windowMs ?? 60_000;
  const prefix = options.keyPrefix ?? `${KEY_PREFIX}rl:`;
  const cooldownMs = options.redisCooldownMs ?? 1_000;
  const now = options.now ?? Date.now;
  const fallback = options.fallback ?? createMemoryRateLimiter({ limit, windowMs });
  const scripts = defineScripts(redis, rateLimitScripts);
  let suspendedUntil = 0;
  let lastBackend: 'redis' | 'local' = 'redis';

  function backend(): 'redis' | 'local' {
    const current = isRedisReady(redis) && now() >= suspendedUntil ? 'redis' : 'local';
    if (current !== lastBackend) {
      if (current === 'redis') logger?.info('rate limit shared through Redis again');
      else logger?.warn('rate limit enforced per replica: Redis unavailable');
      lastBackend = current;
    }
    return current;
  }

  return {
    backend,
    async consume(keyHash: string, cost = 1): Promise<RateLimitDecision> {
      if (backend() === 'local') return fallback.consume(keyHash, cost);
      try {
        // One key per API key (hash-tagged by it): limits spread over every Redis Cluster shard.
        const decision = await scripts.consume({ keys: { counter: `${prefix}{${keyHash}}:requests` }, args: { limit, windowMs, cost } });
        return { ...decision, limit };
      } catch (error) {
        suspendedUntil = now() + cooldownMs;
        logger?.debug({ err: error }, 'rate limit Redis call failed; deciding locally');
        backend();
        return fallback.consume(keyHash, cost);
      }
    },
  };
}
