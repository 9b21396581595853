import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { modelKeys } from '@rgw/model-catalog';
import { createLogger } from '@rgw/observability';
import { BULLMQ_PREFIX, createRedisClients, createRequestPathRedis } from '@rgw/redis';
import { startRedisCluster, type TestRedisCluster } from '../../../test/support/redis-cluster.ts';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { waitForRedisReady } from '../../../test/support/wait-for-redis-ready.ts';
import { startScriptedBackend, type ScriptedBackend } from '../../../test/support/scripted-backend.ts';
import { loadWorkerConfig } from './worker-config.ts';
import { MODELS_QUEUE, startWorker, type StartedWorker } from './start-worker.ts';
import { memoryLogger } from '../../../test/support/memory-logger.ts';

let redisServer: TestRedis;
let backend: ScriptedBackend;
let admin: Redis;
let worker: StartedWorker | undefined;

beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  await redisServer.stop();
});
beforeEach(async () => {
  backend = await startScriptedBackend({ models: ['org/model-a'] });
  admin = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 2_000 });
  await waitForRedisReady(admin);
  await admin.flushall();
});
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await backend.close();
  admin.disconnect();
});

/** Waits until the worker has published a list (the first refresh ran). */
async function waitForAnyPublished(timeout = 8_000): Promise<void> {
  await vi.waitFor(
    async () => {
      if ((await publishedIds()) === null) throw new Error('no model list in Redis yet');
    },
    { timeout },
  );
}

async function publishedIds(): Promise<string[] | null> {
  const json = await admin.hget(modelKeys.snapshot, 'json').catch(() => null);
  return json === null ? null : (JSON.parse(json) as { id: string }[]).map((model) => model.id);
}

function config() {
  return loadWorkerConfig({
    REDIS_URL: redisServer.url,
    UPSTREAM_BASE_URL: backend.url,
    MODELS_REFRESH_SECONDS: '1',
    WORKER_PORT: '0',
    WORKER_HOST: '127.0.0.1',
  });
}

describe('worker', () => {
  it('publishes the backend model list and follows additions and removals', async () => {
    worker = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    await vi.waitFor(async () => expect(await publishedIds()).toEqual(['org/model-a']), { timeout: 8_000 });
    backend.setModels(['org/model-a', 'org/model-b']);
    await vi.waitFor(async () => expect(await publishedIds()).toEqual(['org/model-a', 'org/model-b']), { timeout: 8_000 });
    backend.setModels(['org/model-b']);
    await vi.waitFor(async () => expect(await publishedIds()).toEqual(['org/model-b']), { timeout: 8_000 });
  });

  it('runs each scheduled refresh on one worker only when several workers run', async () => {
    worker = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    const second = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    // BullMQ's own view of the queue: how many scheduled runs there were, and how many schedulers.
    const connection = createRedisClients(config().redis).bullmq({ name: 'test-queue-reader' });
    const queue = new Queue(MODELS_QUEUE, { connection, prefix: BULLMQ_PREFIX });
    try {
      try {
        await vi.waitFor(async () => expect(await queue.getCompletedCount()).toBeGreaterThanOrEqual(3), { timeout: 15_000 });
      } finally {
        // Closing waits for a running refresh: after this no listing is under way.
        await second.close();
        await worker.close();
        worker = undefined;
      }
      const listings = backend.requests.filter((request) => request.path === '/v1/models').length;
      const counts = await queue.getJobCounts('completed', 'failed', 'active');
      // One listing per scheduled run, so one worker per run; and one schedule for the pair. A worker
      // running its own timer, or both taking the same run, would list more often than there were runs.
      expect(counts).toEqual({ completed: listings, failed: 0, active: 0 });
      expect(await queue.getJobSchedulers()).toEqual([expect.objectContaining({ key: 'models-refresh', every: 1_000 })]);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('logs which backend it lists, each change with the ids added and removed, and no key', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const host = new URL(backend.url).host;
    worker = await startWorker({ config: { ...config(), UPSTREAM_API_KEY: 'cpk_worker_secret_key_0123456789' }, logger });
    const messages = () => records().map((record) => record['msg']);
    await vi.waitFor(() => expect(messages()).toContain('model list changed and published'), { timeout: 8_000 });
    backend.setModels(['org/model-b']);
    await vi.waitFor(() => expect(messages().filter((msg) => msg === 'model list changed and published')).toHaveLength(2), { timeout: 8_000 });
    await vi.waitFor(() => expect(messages()).toContain('model list unchanged'), { timeout: 8_000 });
    const changes = records().filter((record) => record['msg'] === 'model list changed and published');
    expect(changes.map((record) => [record['backend'], record['added'], record['removed']])).toEqual([
      [host, ['org/model-a'], []],
      [host, ['org/model-b'], ['org/model-a']],
    ]);
    expect(records().find((record) => record['msg'] === 'listing the backend models on a schedule')).toMatchObject({ backend: host, refreshSeconds: 1 });
    expect(records().find((record) => record['msg'] === 'model list unchanged')).toMatchObject({ backend: host, models: 1 });
    expect(lines.join('\n')).not.toContain('cpk_worker_secret_key_0123456789');
  });

  it('reports a failing backend as one warn line with the reason, not a stack per run', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const listings = () => backend.requests.filter((request) => request.path === '/models').length;
    // Without /v1: every listing is a 404 from the backend.
    worker = await startWorker({ config: { ...config(), UPSTREAM_BASE_URL: new URL(backend.url).origin }, logger });
    await vi.waitFor(() => expect(listings()).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    const failures = records().filter((record) => record['level'] === 'warn');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ msg: 'model list refresh failed; the last published list stays', backend: new URL(backend.url).host });
    expect(failures[0]!['reason']).toMatch(/has no GET \/models \(HTTP 404: Not Found\)\. Check UPSTREAM_BASE_URL/);
    expect(lines.join('\n')).not.toContain('"stack"');
  });

  it('keeps the last list when the backend lists nothing', async () => {
    worker = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    await waitForAnyPublished();
    backend.setModels([]);
    const failedRuns = async () => (await worker?.metrics.refreshRuns.get())?.values.find((v) => v.labels.result === 'failure')?.value ?? 0;
    await vi.waitFor(async () => expect(await failedRuns()).toBeGreaterThan(0), { timeout: 8_000 });
    expect(await publishedIds()).toEqual(['org/model-a']);
  });

  it('re-creates its schedule when Redis comes back empty', async () => {
    worker = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    await waitForAnyPublished();
    // Restarted without persistence: the list and the schedule are gone; whatever appears later is new.
    await redisServer.restart();
    await waitForRedisReady(admin);
    await waitForAnyPublished(10_000);
    // Not one refresh on reconnect but the schedule itself: a later change still arrives.
    backend.setModels(['org/model-a', 'org/model-c']);
    await vi.waitFor(async () => expect(await publishedIds()).toEqual(['org/model-a', 'org/model-c']), { timeout: 10_000 });
  });

  it('serves its health and its metrics', async () => {
    worker = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    await waitForAnyPublished();
    const health = await fetch(`http://127.0.0.1:${worker.port}/health`);
    expect(await health.json()).toEqual({ status: 'ok', redis: 'ready' });
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/gateway_worker_model_refresh_runs_total\{result="success"\} [1-9]/);
    expect(metrics).toMatch(/gateway_worker_model_catalog_size 1/);
  });

  // No timing bound: BullMQ's close() waits for Redis forever while Redis is down, and Redis comes
  // back only after close() resolved, so a close that waited for it would time the test out.
  it('shuts down while Redis is down, without waiting for it', { timeout: 20_000 }, async () => {
    const started = await startWorker({ config: { ...config(), SHUTDOWN_GRACE_SECONDS: 2 }, logger: pino({ level: 'silent' }) });
    await waitForAnyPublished();
    await redisServer.kill();
    try {
      await expect(started.close()).resolves.toBeUndefined();
    } finally {
      await redisServer.restart();
    }
  });

  it('exits cleanly on SIGTERM', { timeout: 20_000 }, async () => {
    const child = spawn(process.execPath, ['apps/worker/src/main.ts'], {
      cwd: new URL('../../../', import.meta.url),
      env: { PATH: process.env['PATH'] ?? '', REDIS_URL: redisServer.url, UPSTREAM_BASE_URL: backend.url, WORKER_PORT: '0', WORKER_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await vi.waitFor(() => expect(output).toContain('worker listening'), { timeout: 10_000 });
    await waitForAnyPublished();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(output).toContain('worker stopped');
  });
});

describe('worker on a Redis that refuses its commands', () => {
  it('backs off instead of retrying in a loop, counts the errors by reason and logs them at warn, throttled', async () => {
    const { lines, logger } = memoryLogger();
    worker = await startWorker({ config: config(), logger });
    await waitForAnyPublished();
    const errors = async () => (await worker?.metrics.redisErrors.get())?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
    const pauses = () => lines.filter((line) => line['msg'] === 'model refresh worker paused after repeated Redis errors').map((line) => line['pauseMs']);
    // Redis full (maxmemory with noeviction): every write BullMQ's scripts make is refused with OOM.
    await admin.config('SET', 'maxmemory', '1');
    try {
      // Paused after a burst of errors, resumed, paused again for twice as long: a backoff, not a loop.
      await vi.waitFor(() => expect(pauses().slice(0, 2)).toEqual([1_000, 2_000]), { timeout: 15_000 });
      // A fetch loop retrying at once made thousands of calls a second; with the backoff a few per pause.
      expect(await errors()).toBeLessThan(60);
      const warned = lines.filter((line) => line['msg'] === 'worker Redis error (oom)');
      expect(warned.length).toBeGreaterThanOrEqual(1);
      expect(warned.length).toBeLessThanOrEqual(2);
      expect(warned[0]).toMatchObject({ level: 40, reason: 'oom' });
      expect(String((warned[0]?.['err'] as { message?: unknown } | undefined)?.message)).toMatch(/^OOM/);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    // Back to normal once Redis accepts writes again.
    await admin.del(modelKeys.snapshot);
    await waitForAnyPublished(40_000);
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/gateway_worker_redis_errors_total\{reason="oom"\} [1-9]/);
  }, 60_000);
});

describe('worker on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('refuses at start a REDIS_URL that points at a Cluster node, naming REDIS_CLUSTER_NODES', async () => {
    const [node] = cluster.nodes;
    const misconfigured = loadWorkerConfig({
      REDIS_URL: `redis://${node?.host}:${node?.port}`,
      UPSTREAM_BASE_URL: backend.url,
      WORKER_PORT: '0',
      WORKER_HOST: '127.0.0.1',
    });
    await expect(startWorker({ config: misconfigured, logger: pino({ level: 'silent' }) })).rejects.toThrow(/Redis Cluster node[\s\S]*REDIS_CLUSTER_NODES/);
  });

  it('schedules and publishes through REDIS_CLUSTER_NODES, with BullMQ’s keys in one slot', async () => {
    const clusterConfig = loadWorkerConfig({
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      UPSTREAM_BASE_URL: backend.url,
      MODELS_REFRESH_SECONDS: '1',
      WORKER_PORT: '0',
      WORKER_HOST: '127.0.0.1',
    });
    const { lines, logger } = memoryLogger();
    worker = await startWorker({ config: clusterConfig, logger });
    const reader = createRedisClients(clusterConfig.redis).requestPath({ commandTimeoutMs: 2_000 });
    try {
      const published = async () => reader.hget(modelKeys.snapshot, 'json').catch(() => null);
      await vi.waitFor(async () => expect(await published()).not.toBeNull(), { timeout: 15_000 });
      backend.setModels(['org/model-a', 'org/model-c']);
      await vi.waitFor(async () => expect(await published()).toContain('org/model-c'), { timeout: 15_000 });
      expect(lines.filter((line) => String(line['msg']).startsWith('worker Redis error'))).toEqual([]);
    } finally {
      reader.disconnect();
    }
  });
});
