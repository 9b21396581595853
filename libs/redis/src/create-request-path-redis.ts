import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * ioredis, loaded on the first client: a gateway in embedded mode never makes one, and loading it
 * costs about 11 MB of RSS at start (docs/benchmarks.md). ioredis is CommonJS, so `require` keeps
 * the constructors synchronous.
 */
function loadRedisClass(): typeof Redis {
  return (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis;
}

export interface RequestPathRedisOptions {
  logger?: Logger;
  /** A command that gets no reply within this many ms fails (default 250: Redis hung, e.g. SIGSTOP). */
  commandTimeoutMs?: number;
  /** Name in logs (default 'redis'). */
  name?: string;
}

/**
 * An ioredis client for the request path, configured to fail fast. ioredis's defaults queue
 * commands while disconnected and retry them: a request then waits > 15 s for a dead Redis.
 * Here: no offline queue (a command while disconnected fails in ~0 ms), one retry per command,
 * `commandTimeout` for a hung Redis, and reconnects forever with a backoff capped at 2 s, so the
 * client recovers on its own when Redis returns. Callers check `isRedisReady()` first.
 *
 * Logs once per state change (up / down), never once per failed command or reconnect attempt.
 */
export function createRequestPathRedis(url: string, options: RequestPathRedisOptions = {}): Redis {
  const client = new (loadRedisClass())(url, requestPathRedisOptions(options.commandTimeoutMs ?? 250));
  logStateChanges(client, options.name ?? 'redis', options.logger);
  return client;
}

/**
 * A client for SUBSCRIBE. A subscribed connection can run nothing else, and it must keep its
 * subscriptions across reconnects (ioredis re-subscribes on reconnect), so it keeps the offline
 * queue: a `subscribe` issued before the connection is up waits for it instead of failing.
 */
export function createSubscriberRedis(url: string, options: Omit<RequestPathRedisOptions, 'commandTimeoutMs'> = {}): Redis {
  const client = new (loadRedisClass())(url, {
    connectTimeout: 2_000,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  });
  logStateChanges(client, options.name ?? 'redis-subscriber', options.logger);
  return client;
}

export function requestPathRedisOptions(commandTimeoutMs: number) {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  } satisfies RedisOptions;
}

/** True when commands can be sent now (not connecting, reconnecting or closed). */
export function isRedisReady(client: Redis): boolean {
  return client.status === 'ready';
}

function logStateChanges(client: Redis, name: string, logger: Logger | undefined): void {
  let up: boolean | null = null;
  const mark = (now: boolean, detail: Record<string, unknown>) => {
    if (up === now) return;
    up = now;
    if (now) logger?.info({ redis: name }, 'redis connection ready');
    else logger?.warn({ redis: name, ...detail }, 'redis unavailable; serving from local state until it returns');
  };
  client.on('ready', () => mark(true, {}));
  // Without an 'error' listener ioredis's errors would crash the process.
  client.on('error', (error: Error) => mark(false, { err: { message: error.message } }));
  client.on('close', () => {
    if (client.status !== 'end') mark(false, {});
  });
}
