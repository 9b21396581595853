import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { createWorkerMetrics, type WorkerMetrics } from '@rgw/observability';
import type { ListModels } from '@rgw/model-catalog';
import { ConfigError, readUpstreamCa } from '@rgw/config';
import { awaitFirstVerdict, BULLMQ_PREFIX, createRedisHealthProbe, createRedisClients, isRedisReady, type RedisClient } from '@rgw/redis';
import { createUpstreamClient, type UpstreamClient } from '@rgw/upstream';
import { createRefreshModelsJob } from './refresh-models-job.ts';
import { createRedisErrorReporter } from './report-redis-errors.ts';
import type { WorkerConfig } from './worker-config.ts';

export const MODELS_QUEUE = 'models';
export const MODELS_SCHEDULER_ID = 'models-refresh';

export interface StartedWorker {
  readonly port: number;
  readonly metrics: WorkerMetrics;
  /** Graceful: stop taking jobs, wait for the running one (up to the grace period), close connections. */
  close(): Promise<void>;
}

export interface StartWorkerOptions {
  config: WorkerConfig;
  logger: Logger;
  /** Default: GET `${UPSTREAM_BASE_URL}/models` through the gateway's upstream client (same error wording). */
  listModels?: ListModels;
}

/**
 * The worker app: a BullMQ job scheduler runs the model refresh every MODELS_REFRESH_SECONDS;
 * any number of worker replicas may run (the scheduler hands each run to one of them). Serves
 * /health and /metrics on WORKER_PORT.
 */
export async function startWorker(options: StartWorkerOptions): Promise<StartedWorker> {
  const { config, logger } = options;
  const refreshMs = config.MODELS_REFRESH_SECONDS * 1000;
  const metrics = createWorkerMetrics();
  const report = createRedisErrorReporter({ logger, metrics });
  // One factory, the gateway's variables: single, Sentinel or Cluster, with TLS. BullMQ's
  // connections retry forever (maxRetriesPerRequest: null): its Worker blocks on Redis.
  const clients = createRedisClients(config.redis);
  const queueConnection = clients.bullmq({ name: 'redis-bullmq-queue' });
  const workerConnection = clients.bullmq({ name: 'redis-bullmq-worker' });
  const publisher = clients.requestPath({ logger, commandTimeoutMs: 5_000, name: 'redis' });
  if (config.redis.mode === 'single') {
    // REDIS_URL at a Redis Cluster node: refused at start, as the gateway does (a plain client gets MOVED for most keys).
    const probe = createRedisHealthProbe(publisher, { refuseClusterNode: true });
    const first = await awaitFirstVerdict(probe, 3_000);
    probe.close();
    if (first.reason === 'cluster_node') {
      for (const connection of [queueConnection, workerConnection, publisher]) connection.disconnect();
      throw new ConfigError(`Invalid worker configuration: ${first.message ?? 'REDIS_URL points at a Redis Cluster node: use REDIS_CLUSTER_NODES'}`);
    }
  }
  for (const [source, connection] of [
    ['queue connection', queueConnection],
    ['worker connection', workerConnection],
    ['publisher connection', publisher],
  ] as const) {
    connection.on('error', (error: Error) => report(source, error));
  }

  // The prefix is a hash tag ({gw:v2:bull}): every key of BullMQ's scripts in one Redis Cluster slot.
  const queue = new Queue(MODELS_QUEUE, { connection: queueConnection, prefix: BULLMQ_PREFIX });
  queue.on('error', (error) => report('queue', error));

  // The gateway's own client: a 404 on /models reads "check UPSTREAM_BASE_URL" here as on the replicas.
  let upstream: UpstreamClient | undefined;
  let listModels = options.listModels;
  if (listModels === undefined) {
    const client = createUpstreamClient({
      baseUrl: config.UPSTREAM_BASE_URL,
      connectTimeoutMs: 10_000,
      headersTimeoutMs: 30_000,
      idleTimeoutMs: 30_000,
      maxRetries: 0,
      // One GET /models a minute: HTTP/1.1 is plenty; a private backend's CA is still needed.
      tlsCa: readUpstreamCa(config.UPSTREAM_TLS_CA_FILE),
      logger,
    });
    upstream = client;
    const apiKey = config.UPSTREAM_API_KEY;
    listModels = (signal) => client.listModels({ signal, ...(apiKey === undefined ? {} : { apiKey }) });
  }
  const backendHost = new URL(config.UPSTREAM_BASE_URL).host;
  logger.info({ backend: backendHost, refreshSeconds: config.MODELS_REFRESH_SECONDS }, 'listing the backend models on a schedule');
  const runRefresh = createRefreshModelsJob({
    listModels,
    backend: backendHost,
    redis: publisher,
    freshMs: 3 * refreshMs,
    metrics,
    logger,
  });
  const worker = new Worker(MODELS_QUEUE, runRefresh, {
    connection: workerConnection,
    prefix: BULLMQ_PREFIX,
    concurrency: 1,
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 500 },
  });
  const backoff = pauseOnRepeatedErrors(worker, { onPause: (ms) => logger.warn({ pauseMs: ms }, 'model refresh worker paused after repeated Redis errors') });
  worker.on('error', (error) => {
    report('worker', error);
    backoff.noteError();
  });

  // A scheduler lives in Redis: when Redis restarts empty it is gone and no refresh would run
  // again. So upsert it (idempotent) on every (re)connect, and check it from a watchdog.
  const ensureScheduler = async () => {
    await queue.upsertJobScheduler(
      MODELS_SCHEDULER_ID,
      { every: refreshMs },
      {
        name: 'refresh-models',
        opts: { attempts: 3, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
      },
    );
  };
  const ensureSchedulerLogged = () => void ensureScheduler().catch((error: unknown) => report('scheduler', error));
  queueConnection.on('ready', ensureSchedulerLogged);
  const startedAt = Date.now();
  const watchdog = setInterval(
    () =>
      void (async () => {
        const scheduler = await queue.getJobScheduler(MODELS_SCHEDULER_ID);
        if (scheduler === undefined || scheduler === null) {
          logger.warn('model refresh scheduler missing (Redis emptied?); re-creating it');
          return ensureScheduler();
        }
        // A scheduler whose next run could not be added (Redis refused the write, e.g. full) stays
        // but never fires again: no refresh for 3 periods re-upserts it, which queues the next run.
        const lastSuccessMs = ((await metrics.lastSuccess.get()).values[0]?.value ?? 0) * 1000;
        if (Date.now() - Math.max(lastSuccessMs, startedAt) > 3 * refreshMs) return ensureScheduler();
        return undefined;
      })().catch((error: unknown) => report('scheduler watchdog', error)),
    Math.min(30_000, 2 * refreshMs),
  );
  watchdog.unref();
  if (queueConnection.status === 'ready') ensureSchedulerLogged();

  const server = createWorkerHttpServer(metrics, queue, publisher);
  server.listen(config.WORKER_PORT, config.WORKER_HOST);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.WORKER_PORT;

  let closing: Promise<void> | undefined;
  return {
    port,
    metrics,
    close() {
      closing ??= (async () => {
        clearInterval(watchdog);
        backoff.stop();
        queueConnection.off('ready', ensureSchedulerLogged);
        server.close();
        server.closeIdleConnections();
        // worker.close() waits for the running job without a deadline of its own, and BullMQ's
        // close() waits for Redis forever while Redis is down. So: wait up to the grace period
        // (1 s when Redis is down: a running refresh could not publish anyway), then cut the connections.
        const graceMs = isRedisReady(publisher) ? config.SHUTDOWN_GRACE_SECONDS * 1000 : Math.min(1_000, config.SHUTDOWN_GRACE_SECONDS * 1000);
        const timers: NodeJS.Timeout[] = [];
        const after = (ms: number) => new Promise<void>((resolve) => timers.push(setTimeout(resolve, ms)));
        const graceful = (async () => {
          await Promise.race([worker.close(), after(graceMs).then(() => worker.close(true))]);
          await queue.close();
        })().catch((error: unknown) => logger.warn({ err: error }, 'worker close failed'));
        await Promise.race([graceful, after(graceMs + 2_000)]);
        for (const timer of timers) clearTimeout(timer);
        for (const connection of [queueConnection, workerConnection, publisher]) connection.disconnect();
        await upstream?.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}

function createWorkerHttpServer(metrics: WorkerMetrics, queue: Queue, redis: RedisClient): Server {
  return createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      // Liveness: the process runs. Redis is reported, not required (the worker reconnects on its own).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', redis: isRedisReady(redis) ? 'ready' : redis.status }));
      return;
    }
    if (req.method === 'GET' && req.url === '/metrics') {
      void (async () => {
        const own = await metrics.registry.metrics();
        // BullMQ's queue gauges (bullmq_job_count{queue,state}...); skipped while Redis is away.
        const bullmq = isRedisReady(redis) ? await queue.exportPrometheusMetrics().catch(() => '') : '';
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(`${own}\n${bullmq}`);
      })().catch(() => {
        res.writeHead(500).end();
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'Not found', type: 'invalid_request_error', param: null, code: null } }));
  });
}

/**
 * BullMQ's fetch loop retries a Redis error that is not a lost connection (CROSSSLOT, OOM, NOAUTH,
 * a script error) at once, forever: a misconfigured Redis made a worker retry ~2,900 times a
 * second. More than `burst` errors within a second pause the worker for a backoff (1 s, doubling
 * to 30 s, reset after a quiet minute), then it resumes and tries again.
 */
function pauseOnRepeatedErrors(worker: Worker, options: { onPause: (ms: number) => void; burst?: number }): { noteError(): void; stop(): void } {
  const burst = options.burst ?? 5;
  let recent: number[] = [];
  let pauses = 0;
  let lastPause = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  return {
    noteError() {
      const now = Date.now();
      recent = [...recent.filter((at) => now - at < 1_000), now];
      if (timer !== undefined || stopped || recent.length <= burst) return;
      if (now - lastPause > 60_000) pauses = 0;
      const pauseMs = Math.min(30_000, 1_000 * 2 ** pauses);
      pauses += 1;
      lastPause = now;
      recent = [];
      options.onPause(pauseMs);
      void worker.pause(true).catch(() => undefined);
      timer = setTimeout(() => {
        timer = undefined;
        if (!stopped) void worker.resume().catch(() => undefined);
      }, pauseMs);
      timer.unref();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
