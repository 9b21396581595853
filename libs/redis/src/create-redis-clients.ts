import { readFileSync } from 'node:fs';
import calculateSlot from 'cluster-key-slot';
import { createRequire } from 'node:module';
import type { ConnectionOptions } from 'node:tls';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConnectionConfig } from '@rgw/config';

/** Every client the gateway and the worker use: one Redis, a Sentinel-managed master, or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

type IoRedis = typeof import('ioredis');

/**
 * ioredis, loaded on the first client: a gateway in embedded mode never makes one, and loading it
 * costs about 11 MB of RSS at start (docs/benchmarks.md). ioredis is CommonJS, so `require` keeps
 * the constructors synchronous.
 */
function loadIoRedis(): IoRedis {
  return createRequire(import.meta.url)('ioredis') as IoRedis;
}

export interface RedisClientOptions {
  logger?: Logger;
  /** Name in logs (default 'redis'). */
  name?: string;
  /** A command with no reply within this many ms fails (request-path clients; default 250: Redis hung, e.g. SIGSTOP). */
  commandTimeoutMs?: number;
}

/** Builds every client from the one parsed config, so the request path, subscribers and BullMQ agree on mode, TLS and credentials. */
export interface RedisClients {
  readonly config: RedisConnectionConfig;
  /**
   * Fail-fast client for the request path. ioredis's defaults queue commands while disconnected and
   * retry them: a request then waits > 15 s for a dead Redis. Here: no offline queue (a command while
   * disconnected fails in ~0 ms), one retry per command, `commandTimeout` for a hung Redis, reconnects
   * forever with a backoff capped at 2 s. Callers check `isRedisReady()` first.
   */
  requestPath(options?: RedisClientOptions): RedisClient;
  /**
   * For SUBSCRIBE. A subscribed connection runs nothing else and must keep its subscriptions across
   * reconnects (ioredis re-subscribes), so it keeps the offline queue: a `subscribe` issued before the
   * connection is up waits for it instead of failing.
   */
  subscriber(options?: Omit<RedisClientOptions, 'commandTimeoutMs'>): RedisClient;
  /** For BullMQ's Queue and Worker: retries forever (`maxRetriesPerRequest: null`, which BullMQ requires for blocking commands). */
  bullmq(options?: Omit<RedisClientOptions, 'commandTimeoutMs'>): RedisClient;
}

/** How a client behaves when Redis is slow or away; everything else comes from the config. */
type ConnectionBehaviour = Pick<RedisOptions, 'enableOfflineQueue' | 'maxRetriesPerRequest' | 'commandTimeout' | 'connectTimeout' | 'retryStrategy'>;

const RECONNECT = (attempt: number) => Math.min(attempt * 100, 2_000);

export function createRedisClients(config: RedisConnectionConfig): RedisClients {
  const tls = tlsOptions(config);
  const auth = {
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
  };

  function build(options: ConnectionBehaviour, name: string, logger: Logger | undefined): RedisClient {
    const ioredis = loadIoRedis();
    let client: RedisClient;
    switch (config.mode) {
      case 'single': {
        const single = { ...options, ...auth, ...(tls === undefined ? {} : { tls }) } satisfies RedisOptions;
        client = new ioredis.Redis(config.url, single);
        break;
      }
      case 'sentinel': {
        const sentinel = {
          ...options,
          ...auth,
          sentinels: config.sentinels.map(({ host, port }) => ({ host, port })),
          name: config.masterName,
          role: 'master',
          // Without it ioredis notices a failover only when the old master's socket breaks: writes
          // kept going to a demoted master for seconds and were lost (11 of 13 in a manual failover).
          failoverDetector: true,
          sentinelRetryStrategy: RECONNECT,
          ...(config.sentinelPassword === undefined ? {} : { sentinelPassword: config.sentinelPassword }),
          ...(tls === undefined ? {} : { tls, enableTLSForSentinelMode: true, sentinelTLS: tls }),
        } satisfies RedisOptions;
        client = new ioredis.Redis(sentinel);
        break;
      }
      case 'cluster': {
        const { enableOfflineQueue, retryStrategy: _perNode, ...nodeOptions } = options;
        const clusterOptions: ClusterOptions = {
          ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
          clusterRetryStrategy: RECONNECT,
          slotsRefreshTimeout: 2_000,
          // TLS certificates name hosts, not the IPs a hostname resolves to: keep the name for SNI and verification.
          ...(tls === undefined ? {} : { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }),
          redisOptions: { ...nodeOptions, ...auth, ...(tls === undefined ? {} : { tls }) },
        };
        client = new ioredis.Cluster(
          config.nodes.map(({ host, port }) => ({ host, port })),
          clusterOptions as ConstructorParameters<IoRedis['Cluster']>[1],
        );
        break;
      }
    }
    watchConnection(client, name, logger);
    return client;
  }

  return {
    config,
    requestPath: (options = {}) =>
      build(
        {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          commandTimeout: options.commandTimeoutMs ?? 250,
          connectTimeout: 2_000,
          retryStrategy: RECONNECT,
        },
        options.name ?? 'redis',
        options.logger,
      ),
    subscriber: (options = {}) =>
      build({ connectTimeout: 2_000, maxRetriesPerRequest: null, retryStrategy: RECONNECT }, options.name ?? 'redis-subscriber', options.logger),
    bullmq: (options = {}) =>
      build({ connectTimeout: 2_000, maxRetriesPerRequest: null, retryStrategy: RECONNECT }, options.name ?? 'redis-bullmq', options.logger),
  };
}

function tlsOptions(config: RedisConnectionConfig): ConnectionOptions | undefined {
  if (config.tls === null) return undefined;
  return {
    ...(config.tls.caFile === undefined ? {} : { ca: readFileSync(config.tls.caFile) }),
    ...(config.tls.certFile === undefined ? {} : { cert: readFileSync(config.tls.certFile) }),
    ...(config.tls.keyFile === undefined ? {} : { key: readFileSync(config.tls.keyFile) }),
  };
}

/** True when commands can be sent now (not connecting, reconnecting or closed). */
export function isRedisReady(client: RedisClient): boolean {
  return client.status === 'ready';
}

const lastErrors = new WeakMap<RedisClient, { readonly error: Error; readonly at: number }>();

/**
 * The last connection error the client reported ('error' event), for explaining why commands fail
 * while it is disconnected: a command then fails with "Stream isn't writeable", which says nothing.
 */
export function lastRedisError(client: RedisClient): Error | undefined {
  return lastErrors.get(client)?.error;
}

/**
 * Logs once per state change (up / down, with the reason), never once per failed command or
 * reconnect attempt. Without an 'error' listener ioredis's errors would crash the process.
 */
function watchConnection(client: RedisClient, name: string, logger: Logger | undefined): void {
  let up: boolean | null = null;
  const mark = (now: boolean, error?: Error) => {
    if (up === now) return;
    up = now;
    if (now) logger?.info({ redis: name }, 'redis connection ready');
    else
      logger?.warn({ redis: name, ...(error === undefined ? {} : { reason: error.message }) }, 'redis unavailable; serving from local state until it returns');
  };
  client.on('ready', () => {
    lastErrors.delete(client);
    mark(true);
  });
  client.on('error', (error: Error) => {
    lastErrors.set(client, { error, at: Date.now() });
    mark(false, error);
  });
  client.on('close', () => {
    if (client.status !== 'end') mark(false, lastErrors.get(client)?.error);
  });
}

/** A connection for SUBSCRIBE next to `client`, with the same target and credentials (offline queue on). */
export function duplicateForSubscribe(client: RedisClient): RedisClient {
  const override = { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined };
  if ('isCluster' in client && client.isCluster) {
    const cluster = client as Cluster;
    const { commandTimeout: _failFast, ...nodeOptions } = cluster.options.redisOptions ?? {};
    const duplicate = cluster.duplicate(undefined, {
      enableOfflineQueue: true,
      redisOptions: { ...nodeOptions, maxRetriesPerRequest: null },
    } as Parameters<Cluster['duplicate']>[1]);
    duplicate.on('error', () => undefined);
    return duplicate;
  }
  const duplicate = (client as Redis).duplicate(override);
  duplicate.on('error', () => undefined);
  return duplicate;
}

/** True for a Redis Cluster client (commands are routed by key slot; keyless ones go to any node). */
export function isClusterClient(client: RedisClient): client is Cluster {
  return 'isCluster' in client && client.isCluster === true;
}

/**
 * Which connection a key's commands go to: one group per Cluster master (by the client's slot map),
 * a single group otherwise. A pipeline per group is what a Cluster client accepts (one node per
 * pipeline), and a WAIT at its end covers exactly the writes before it.
 */
export function connectionOf(client: RedisClient, key: string): string {
  if (!isClusterClient(client)) return 'redis';
  const slot = calculateSlot(key);
  return client.slots[slot]?.[0] ?? `slot:${slot}`;
}
