import type { Redis } from 'ioredis';
import { createRedisClients, type RedisClientOptions } from './create-redis-clients.ts';

export type RequestPathRedisOptions = RedisClientOptions;

/**
 * A fail-fast client for one Redis at `url` (see RedisClients.requestPath). For tests and tools that
 * talk to one known Redis; the apps build their clients from the parsed config with createRedisClients.
 */
export function createRequestPathRedis(url: string, options: RequestPathRedisOptions = {}): Redis {
  return createRedisClients({ mode: 'single', url, tls: url.startsWith('rediss:') ? {} : null }).requestPath(options) as Redis;
}

/** A SUBSCRIBE client for one Redis at `url` (see RedisClients.subscriber). */
export function createSubscriberRedis(url: string, options: Omit<RequestPathRedisOptions, 'commandTimeoutMs'> = {}): Redis {
  return createRedisClients({ mode: 'single', url, tls: url.startsWith('rediss:') ? {} : null }).subscriber(options) as Redis;
}
