import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createWorkerMetrics, type WorkerMetrics } from '@rgw/observability';
import type { ListModels } from '@rgw/model-catalog';
import { BULLMQ_PREFIX, createRequestPathRedis, isRedisReady } from '@rgw/redis';
import { createUpstreamClient, type UpstreamClient } from '@rgw/upstream';
import { createRefreshModelsJob } from './refresh-models-job.ts';
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
  // BullMQ's connections must retry forever (maxRetriesPerRequest: null): its Worker blocks on Redis.
  const queueConnection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const publisher = createRequestPathRedis(config.REDIS_URL, { logger, commandTimeoutMs: 5_000, name: 'redis' });
  for (const connection of [queueConnection, workerConnection]) connection.on('error', () => undefined); // logged by `publisher`

  const queue = new Queue(MODELS_QUEUE, { connection: queueConnection, prefix: BULLMQ_PREFIX });
  queue.on('error', (error) => logger.debug({ err: error }, 'queue connection error'));

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
  worker.on('error', (error) => logger.debug({ err: error }, 'worker connection error'));

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
  const ensureSchedulerLogged = () =>
    void ensureScheduler().catch((error: unknown) => logger.warn({ err: error }, 'could not create the model refresh scheduler'));
  queueConnection.on('ready', ensureSchedulerLogged);
  const watchdog = setInterval(
    () =>
      void queue
        .getJobScheduler(MODELS_SCHEDULER_ID)
        .then((scheduler) => {
          if (scheduler === undefined || scheduler === null) {
            logger.warn('model refresh scheduler missing (Redis emptied?); re-creating it');
            return ensureScheduler();
          }
          return undefined;
        })
        .catch(() => undefined),
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

function createWorkerHttpServer(metrics: WorkerMetrics, queue: Queue, redis: Redis): Server {
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
