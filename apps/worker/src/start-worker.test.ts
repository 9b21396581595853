import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { modelKeys } from '@rgw/model-catalog';
import { createLogger } from '@rgw/observability';
import { createRedisClients, createRequestPathRedis } from '@rgw/redis';
import { startRedisCluster, type TestRedisCluster } from '../../../test/support/redis-cluster.ts';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { startScriptedBackend, type ScriptedBackend } from '../../../test/support/scripted-backend.ts';
import { loadWorkerConfig } from './worker-config.ts';
import { startWorker, type StartedWorker } from './start-worker.ts';

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
  await until(() => admin.status === 'ready');
  await admin.flushall();
});
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await backend.close();
  admin.disconnect();
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().valueOf())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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
    await until(async () => JSON.stringify(await publishedIds()) === '["org/model-a"]');
    backend.setModels(['org/model-a', 'org/model-b']);
    await until(async () => JSON.stringify(await publishedIds()) === '["org/model-a","org/model-b"]');
    backend.setModels(['org/model-b']);
    await until(async () => JSON.stringify(await publishedIds()) === '["org/model-b"]');
  });

  it('runs each scheduled refresh on one worker only when several workers run', async () => {
    worker = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    const second = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    try {
      await until(async () => (await publishedIds()) !== null);
      const listings = () => backend.requests.filter((request) => request.path === '/v1/models').length;
      const before = listings();
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      // One run per second for the pair: ~4. Each worker scheduling its own runs would give ~8.
      expect(listings() - before).toBeGreaterThanOrEqual(3);
      expect(listings() - before).toBeLessThanOrEqual(5);
    } finally {
      await second.close();
    }
  });

  it('logs which backend it lists, each change with the ids added and removed, and no key', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const host = new URL(backend.url).host;
    worker = await startWorker({ config: { ...config(), UPSTREAM_API_KEY: 'cpk_worker_secret_key_0123456789' }, logger });
    await until(() => records().some((record) => record['msg'] === 'model list changed and published'));
    backend.setModels(['org/model-b']);
    await until(() => records().filter((record) => record['msg'] === 'model list changed and published').length >= 2);
    await until(() => records().some((record) => record['msg'] === 'model list unchanged'));
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
    await until(() => listings() >= 3, 10_000);
    const failures = records().filter((record) => record['level'] === 'warn');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ msg: 'model list refresh failed; the last published list stays', backend: new URL(backend.url).host });
    expect(failures[0]!['reason']).toMatch(/has no GET \/models \(HTTP 404: Not Found\)\. Check UPSTREAM_BASE_URL/);
    expect(lines.join('\n')).not.toContain('"stack"');
  });

  it('keeps the last list when the backend lists nothing', async () => {
    worker = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    await until(async () => (await publishedIds()) !== null);
    backend.setModels([]);
    await until(async () => (await worker?.metrics.refreshRuns.get())?.values.some((v) => v.labels.result === 'failure' && v.value > 0) ?? false);
    expect(await publishedIds()).toEqual(['org/model-a']);
  });

  it('re-creates its schedule when Redis comes back empty', async () => {
    worker = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    await until(async () => (await publishedIds()) !== null);
    // Restarted without persistence: the list and the schedule are gone; whatever appears later is new.
    await redisServer.restart();
    await until(() => admin.status === 'ready');
    await until(async () => (await publishedIds()) !== null, 10_000);
    // Not one refresh on reconnect but the schedule itself: a later change still arrives.
    backend.setModels(['org/model-a', 'org/model-c']);
    await until(async () => JSON.stringify(await publishedIds()) === '["org/model-a","org/model-c"]', 10_000);
  });

  it('serves its health and its metrics', async () => {
    worker = await startWorker({ config: config(), logger: pino({ level: 'silent' }) });
    await until(async () => (await publishedIds()) !== null);
    const health = await fetch(`http://127.0.0.1:${worker.port}/health`);
    expect(await health.json()).toEqual({ status: 'ok', redis: 'ready' });
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/gateway_worker_model_refresh_runs_total\{result="success"\} [1-9]/);
    expect(metrics).toMatch(/gateway_worker_model_catalog_size 1/);
  });

  it('shuts down promptly even while Redis is down', async () => {
    const started = await startWorker({ config: { ...config(), SHUTDOWN_GRACE_SECONDS: 2 }, logger: pino({ level: 'silent' }) });
    await until(async () => (await publishedIds()) !== null);
    await redisServer.kill();
    const closing = performance.now();
    await started.close();
    expect(performance.now() - closing).toBeLessThan(5_000);
    await redisServer.restart();
  });

  it('exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['apps/worker/src/main.ts'], {
      cwd: new URL('../../../', import.meta.url),
      env: { PATH: process.env['PATH'] ?? '', REDIS_URL: redisServer.url, UPSTREAM_BASE_URL: backend.url, WORKER_PORT: '0', WORKER_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await until(() => output.includes('worker listening'));
    await until(async () => (await publishedIds()) !== null);
    const started = Date.now();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(output).toContain('worker stopped');
  });
});

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, logger: pino({ level: 'info' }, destination) };
}

describe('worker on a Redis that refuses its commands', () => {
  it('backs off instead of retrying in a loop, counts the errors by reason and logs them at warn, throttled', async () => {
    const { lines, logger } = memoryLogger();
    worker = await startWorker({ config: config(), logger });
    await until(async () => (await publishedIds()) !== null);
    // Redis full (maxmemory with noeviction): every write BullMQ's scripts make is refused with OOM.
    await admin.config('SET', 'maxmemory', '1');
    try {
      await until(async () => ((await worker?.metrics.redisErrors.get())?.values.find((v) => v.labels.reason === 'oom')?.value ?? 0) > 0, 10_000);
      const before = (await worker.metrics.redisErrors.get()).values.reduce((sum, v) => sum + v.value, 0);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const during = (await worker.metrics.redisErrors.get()).values.reduce((sum, v) => sum + v.value, 0) - before;
      // A fetch loop retrying at once made thousands of calls a second; with the backoff a few per pause.
      expect(during).toBeLessThan(60);
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
    await until(async () => (await publishedIds()) !== null, 40_000);
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
      await until(async () => (await reader.hget(modelKeys.snapshot, 'json').catch(() => null)) !== null, 15_000);
      backend.setModels(['org/model-a', 'org/model-c']);
      await until(async () => (await reader.hget(modelKeys.snapshot, 'json').catch(() => null))?.includes('org/model-c') === true, 15_000);
      expect(lines.filter((line) => String(line['msg']).startsWith('worker Redis error'))).toEqual([]);
    } finally {
      reader.disconnect();
    }
  });
});
