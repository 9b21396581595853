import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createMemoryBreaker, createRedisBreaker, type CircuitBreaker, type RedisCircuitBreaker } from '@rgw/breaker';
import { ConfigError, describeRedisConnection, type GatewayConfig, readUpstreamCa } from '@rgw/config';
import { createEmbeddedModelCatalog, createRedisModelCatalog, type ModelCatalog } from '@rgw/model-catalog';
import { awaitFirstVerdict, createRedisClients, createRedisHealthProbe, type RedisClient, type RedisHealthProbe, SHARED_SECRET_KEY } from '@rgw/redis';
import { createGatewayMetrics } from '@rgw/observability';
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from '@rgw/rate-limit';
import { createUpstreamClient } from '@rgw/upstream';
import { createGatewayApp } from './create-gateway-app.ts';
import { createConnectionDrainer } from './http/create-connection-drainer.ts';
import { createId } from './create-id.ts';
import type { GatewayDependencies } from './gateway-dependencies.ts';
import { createReasoningSealer } from './security/create-reasoning-sealer.ts';
import { keepSharedSecret } from './security/keep-shared-secret.ts';
import { resolveReasoningSecrets } from './security/resolve-reasoning-secrets.ts';
import { createConfiguredStoredResponses } from './stored/create-configured-stored-responses.ts';
import { createTurnSlots } from './turns/limit-concurrent-turns.ts';
import { createTurnShutdown } from './turns/create-turn-shutdown.ts';
import { createResponsesWebSocketServer } from './websocket/create-responses-websocket-server.ts';
import packageJson from '../../../package.json' with { type: 'json' };

export interface StartGatewayOptions {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  /** Overrides the reasoning secret (in-process tests). Default: REASONING_ENCRYPTION_KEY, else one agreed through Redis, else a random one. */
  readonly reasoningKey?: string;
}

export interface RunningGateway {
  readonly server: Server;
  readonly port: number;
  /** Stop accepting, let in-flight requests finish up to `graceMs`, then close everything. */
  stop(graceMs: number): Promise<void>;
}

/** After the grace period, how long turns get to write their in-band ending before connections are cut, ms. */
const FINAL_WORDS_MS = 1_000;

/** Wires config → dependencies → express app → HTTP server with slowloris-safe timeouts. */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config, logger } = options;
  const metrics = createGatewayMetrics();
  const upstream = createUpstreamClient({
    baseUrl: config.UPSTREAM_BASE_URL,
    connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
    headersTimeoutMs: config.UPSTREAM_HEADERS_TIMEOUT_MS,
    idleTimeoutMs: config.UPSTREAM_IDLE_TIMEOUT_MS,
    maxRetries: config.UPSTREAM_MAX_RETRIES,
    http2: config.UPSTREAM_HTTP2,
    tlsCa: readUpstreamCa(config.UPSTREAM_TLS_CA_FILE),
    logger,
  });
  const upstreamName = new URL(config.UPSTREAM_BASE_URL).host;
  const listModels = (signal: AbortSignal) => upstream.listModels({ signal });
  const breakerOptions = {
    failureThreshold: config.CIRCUIT_BREAKER_FAILURE_THRESHOLD,
    openMs: config.CIRCUIT_BREAKER_OPEN_SECONDS * 1000,
    // A probe that never reports back (a crashed replica) frees its lease after this.
    probeLeaseMs: Math.min(30_000, config.UPSTREAM_HEADERS_TIMEOUT_MS),
  };
  const refreshMs = config.MODELS_REFRESH_SECONDS * 1000;
  // One code path, two kinds of state: in-process (embedded) or shared through Redis (cluster).
  let redis: RedisClient | undefined;
  let writer: RedisClient | undefined;
  let subscriber: RedisClient | undefined;
  let health: RedisHealthProbe | undefined;
  let sharedBreaker: RedisCircuitBreaker | undefined;
  let breaker: CircuitBreaker;
  let catalog: ModelCatalog;
  let rateLimiter: RateLimiter | undefined;
  const mode = config.redis === null ? 'embedded' : 'cluster';
  if (config.redis !== null) {
    const clients = createRedisClients(config.redis);
    redis = clients.requestPath({ logger });
    // Saves wait for a replica (WAIT blocks its connection): their own connection, with a timeout above that bound.
    writer = clients.requestPath({ logger, name: 'redis-writes', commandTimeoutMs: config.REDIS_REPLICA_ACK_TIMEOUT_MS + 1_000 });
    subscriber = clients.subscriber({ logger });
    health = createRedisHealthProbe(redis, { logger, refuseClusterNode: config.redis.mode === 'single', expectReplicas: config.redis.mode === 'sentinel' });
    const probe = health;
    const first = await awaitFirstVerdict(probe, 3_000);
    if (first.reason === 'cluster_node') {
      for (const client of [redis, writer, subscriber]) client.disconnect();
      probe.close();
      throw new ConfigError(`Invalid configuration: ${first.message ?? 'REDIS_URL points at a Redis Cluster node: use REDIS_CLUSTER_NODES'}`);
    }
    logger.info({ redis: describeRedisConnection(config.redis), up: first.up, reason: first.reason }, 'redis configured');
    breaker = sharedBreaker = createRedisBreaker({ ...breakerOptions, redis, subscriber, logger });
    catalog = createRedisModelCatalog({ listModels, redis, subscriber, refreshMs, logger });
    metrics.setRedisUpSource(() => probe.current().up === true);
    // Shared per-key limit; while Redis is unreachable each replica enforces it alone (never "no limit").
    if (config.RATE_LIMIT_REQUESTS_PER_MINUTE > 0) rateLimiter = createRedisRateLimiter({ redis, limit: config.RATE_LIMIT_REQUESTS_PER_MINUTE, logger });
  } else {
    breaker = createMemoryBreaker(breakerOptions);
    catalog = createEmbeddedModelCatalog({ listModels, refreshMs, logger });
    // One limiter for both transports: a key's POSTs and WebSocket turns share its budget.
    if (config.RATE_LIMIT_REQUESTS_PER_MINUTE > 0) rateLimiter = createMemoryRateLimiter({ limit: config.RATE_LIMIT_REQUESTS_PER_MINUTE });
  }
  const secrets =
    options.reasoningKey === undefined
      ? await resolveReasoningSecrets(config, { logger, ...(writer === undefined || health === undefined ? {} : { redis: writer, health }) })
      : [options.reasoningKey];
  const sealer = createReasoningSealer(secrets);
  // A secret agreed through Redis is kept there by every replica that holds it.
  const stopKeepingSecret =
    options.reasoningKey === undefined &&
    config.REASONING_ENCRYPTION_KEY === undefined &&
    writer !== undefined &&
    health !== undefined &&
    secrets[0] !== undefined
      ? keepSharedSecret(writer, secrets[0], {
          logger,
          replicas: () => health?.replicasFor(SHARED_SECRET_KEY) ?? 0,
          ackTimeoutMs: config.REDIS_REPLICA_ACK_TIMEOUT_MS || 1_000,
        })
      : () => undefined;
  const storedResponses = createConfiguredStoredResponses(config, {
    redis: redis === undefined || writer === undefined || health === undefined ? undefined : { reads: redis, writes: writer, health },
    metrics,
    ownerSecrets: secrets,
    now: () => Math.floor(Date.now() / 1000),
  });

  breaker.onStateChange(({ scope, from, to }) => {
    logger.warn({ scope, from, to }, 'circuit breaker state changed');
    metrics.breakerState.set({ scope }, to === 'closed' ? 0 : to === 'open' ? 1 : 2);
    metrics.breakerTransitions.inc({ scope, to });
  });
  metrics.setModelCatalogAgeSource(() => catalog.ageSeconds());
  metrics.setModelCatalogSizeSource(() => catalog.list()?.length ?? 0);
  metrics.buildInfo.set({ version: packageJson.version, mode }, 1);

  let draining = false;
  const turnShutdown = createTurnShutdown();
  const deps: GatewayDependencies = {
    config,
    logger,
    metrics,
    upstream,
    upstreamName,
    breaker,
    catalog,
    mode,
    // Not ready while Redis commands fail (the probe's verdict, with its reason): such a replica
    // cannot store responses nor share breaker state. The price: in a Redis outage every replica is
    // unready at once; READINESS_REQUIRES_REDIS=false keeps them serving on local state instead.
    readiness: () => {
      const verdict = health?.current();
      const redisOk = verdict === undefined || verdict.up === true;
      return {
        ready: !draining && (redisOk || !config.READINESS_REQUIRES_REDIS),
        detail: {
          mode,
          draining,
          redis: verdict === undefined ? 'none' : verdict.up === true ? 'up' : verdict.up === false ? 'down' : 'unknown',
          ...(verdict === undefined || verdict.up === true ? {} : { redis_reason: verdict.reason ?? 'not probed yet', redis_error: verdict.message }),
          breaker_state: sharedBreaker?.backend() ?? 'local',
          models: catalog.list()?.length ?? null,
          model_catalog_age_seconds: catalog.ageSeconds(),
          // Why the backend's model list cannot be fetched (a wrong UPSTREAM_BASE_URL, the backend down), while it cannot.
          model_list_error: catalog.lastError(),
        },
      };
    },
    createId,
    now: () => Math.floor(Date.now() / 1000),
    sealReasoning: (reasoning) => sealer.seal(reasoning),
    unsealReasoning: (sealed) => sealer.unseal(sealed),
    backendProfiles: config.BACKEND_PROFILES,
    stored: storedResponses.stored,
    turnShutdown,
    turnSlots: createTurnSlots(config.MAX_CONCURRENT_STREAMS, metrics),
    ...(rateLimiter ? { rateLimiter } : {}),
  };

  const app = createGatewayApp(deps);
  const server = createServer(
    {
      headersTimeout: config.SERVER_HEADERS_TIMEOUT_MS,
      requestTimeout: config.SERVER_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: config.SERVER_KEEP_ALIVE_TIMEOUT_MS,
      // Node checks the two timeouts above only every connectionsCheckingInterval (default 30 s):
      // a slowloris client would otherwise hold its socket for 30 s whatever the timeouts say.
      connectionsCheckingInterval: Math.min(1_000, config.SERVER_HEADERS_TIMEOUT_MS),
    },
    app,
  );
  const drainer = createConnectionDrainer(server);
  // WebSocket mode on GET /v1/responses; with it off, upgrades still get an answer (426, not a reset).
  const websockets = createResponsesWebSocketServer(deps);
  server.on('upgrade', (req, socket, head) => websockets.handleUpgrade(req, socket, head));
  server.listen(config.PORT, config.HOST);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  void catalog.start();
  logger.info({ port, mode: deps.mode, upstream: upstreamName }, 'gateway listening');

  return {
    server,
    port,
    async stop(graceMs) {
      draining = true;
      stopKeepingSecret();
      // Background runs belong to no connection: they get the same grace, in parallel.
      const runsDrained = storedResponses.close(graceMs);
      // Not server.close(): see create-connection-drainer.ts (no 502s behind a pooling proxy).
      const closed = drainer.drain();
      // Idle sockets close with 1001 now, busy ones once their response ended; their TCP connections
      // are what `closed` waits for.
      void websockets.drain();
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
      if ((await Promise.race([closed, deadline])) === 'timeout') {
        // Every turn still running ends in-band (a stream or a socket gets `error` + `response.failed`, a
        // waiting JSON request a 503), so no client is left with a cut connection and no answer.
        logger.warn('grace period over: ending the remaining responses, then closing their connections');
        turnShutdown.shutDown();
        const ended = new Promise<'timeout'>((resolve) => setTimeout(resolve, FINAL_WORDS_MS, 'timeout').unref());
        await Promise.race([closed, ended]);
        drainer.closeAll();
      }
      await Promise.allSettled([runsDrained, catalog.close(), breaker.close(), upstream.close()]);
      health?.close();
      redis?.disconnect();
      writer?.disconnect();
      subscriber?.disconnect();
    },
  };
}
