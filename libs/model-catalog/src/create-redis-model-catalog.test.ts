import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRequestPathRedis, createSubscriberRedis } from '@rgw/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { createRedisModelCatalog } from './create-redis-model-catalog.ts';
import type { ModelCatalog, ModelEntry } from './model-catalog.ts';
import { modelKeys, publishModelSnapshot } from './model-snapshot.ts';

let redisServer: TestRedis;
let admin: Redis;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  await redisServer.stop();
});
beforeEach(async () => {
  admin = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 2_000 });
  await until(() => admin.status === 'ready');
  await admin.flushall();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  admin.disconnect();
});

function models(...ids: string[]): ModelEntry[] {
  return ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' }));
}

/** A backend listing whatever the test sets, counting its calls. */
function backend(initial: ModelEntry[]) {
  const state = { models: initial, calls: 0, fail: false };
  return Object.assign(state, {
    listModels: async () => {
      state.calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 20)); // long enough for callers to overlap
      if (state.fail) throw new Error('backend down');
      return state.models;
    },
  });
}

async function replica(listModels: () => Promise<ModelEntry[]>, refreshMs = 60_000): Promise<ModelCatalog> {
  const client = createRequestPathRedis(redisServer.url);
  const catalog = createRedisModelCatalog({ listModels, redis: client, refreshMs, pollMs: 100 });
  cleanups.push(async () => {
    await catalog.close();
    client.disconnect();
  });
  await catalog.start();
  return catalog;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const ids = (catalog: ModelCatalog) => catalog.list()?.map((model) => model.id) ?? null;

describe('createRedisModelCatalog', () => {
  it('serves the list the worker published, without calling the backend', async () => {
    await publishModelSnapshot(admin, models('a', 'b'), { freshMs: 60_000 });
    const upstream = backend(models('x'));
    const catalog = await replica(upstream.listModels);
    expect(ids(catalog)).toEqual(['a', 'b']);
    expect(upstream.calls).toBe(0);
  });

  it('follows a change published later on every replica', async () => {
    await publishModelSnapshot(admin, models('a'), { freshMs: 60_000 });
    const upstream = backend(models('x'));
    const first = await replica(upstream.listModels);
    const second = await replica(upstream.listModels);
    await publishModelSnapshot(admin, models('a', 'new-model'), { freshMs: 60_000 });
    await until(() => first.get('new-model') !== undefined && second.get('new-model') !== undefined);
    await publishModelSnapshot(admin, models('new-model'), { freshMs: 60_000 });
    await until(() => first.get('a') === undefined && second.get('a') === undefined);
  });

  it('lets a single replica refresh a stale list from the backend while the others wait', async () => {
    const upstream = backend(models('a', 'b'));
    const catalogs = await Promise.all([replica(upstream.listModels), replica(upstream.listModels), replica(upstream.listModels)]);
    await until(() => catalogs.every((catalog) => ids(catalog)?.length === 2));
    expect(upstream.calls).toBe(1);
    expect(await admin.pttl(modelKeys.fresh)).toBeGreaterThan(0);
  });

  it('reads the shared list first even when its subscriber connects before its request-path client', async () => {
    await publishModelSnapshot(admin, models('a'), { freshMs: 60_000 });
    const upstream = backend(models('x'));
    const subscriber = createSubscriberRedis(redisServer.url);
    await until(() => subscriber.status === 'ready');
    // Not connected yet: a pass run now would find Redis "down" and ask the backend itself.
    // The request-path client's fail-fast options, connecting only when told to.
    const client = new Redis(redisServer.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000, lazyConnect: true });
    const catalog = createRedisModelCatalog({ listModels: upstream.listModels, redis: client, subscriber, refreshMs: 60_000, pollMs: 100 });
    cleanups.push(async () => {
      await catalog.close();
      client.disconnect();
      subscriber.disconnect();
    });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the subscription is made by now
    void client.connect();
    await catalog.start();
    expect(ids(catalog)).toEqual(['a']);
    expect(upstream.calls).toBe(0);
  });

  it('never replaces the shared list with an empty one', async () => {
    await expect(publishModelSnapshot(admin, [], { freshMs: 1_000 })).rejects.toThrow(/empty/);
    const upstream = backend([]);
    await publishModelSnapshot(admin, models('a'), { freshMs: 50 });
    const catalog = await replica(upstream.listModels);
    await until(() => upstream.calls > 0);
    expect(ids(catalog)).toEqual(['a']);
    expect(await admin.hget(modelKeys.snapshot, 'json')).toContain('"a"');
  });

  it('keeps serving its last list while Redis is down, and rebuilds the shared list when Redis returns empty', async () => {
    const upstream = backend(models('a'));
    const catalog = await replica(upstream.listModels);
    await until(() => ids(catalog)?.length === 1);
    await redisServer.kill();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(catalog.resolve('A')).toEqual({ kind: 'found', id: 'a' });
    upstream.models = models('a', 'b');
    await redisServer.restart();
    await until(async () => admin.status === 'ready' && (await admin.hget(modelKeys.snapshot, 'hash')) !== null, 8_000);
    await until(() => catalog.get('b') !== undefined);
  });

  it('closes promptly with a shared subscriber while Redis is down', async () => {
    const client = createRequestPathRedis(redisServer.url);
    const subscriber = createSubscriberRedis(redisServer.url);
    const catalog = createRedisModelCatalog({ listModels: backend(models('a')).listModels, redis: client, subscriber, refreshMs: 60_000 });
    await catalog.start();
    await redisServer.kill();
    try {
      const started = performance.now();
      await catalog.close();
      expect(performance.now() - started).toBeLessThan(100);
    } finally {
      client.disconnect();
      subscriber.disconnect();
      await redisServer.restart();
    }
  });

  it('fetches directly when it starts with Redis unreachable', async () => {
    const upstream = backend(models('a'));
    const client = createRequestPathRedis('redis://127.0.0.1:1');
    const catalog = createRedisModelCatalog({ listModels: upstream.listModels, redis: client, refreshMs: 60_000 });
    cleanups.push(async () => {
      await catalog.close();
      client.disconnect();
    });
    await catalog.start();
    expect(ids(catalog)).toEqual(['a']);
    expect(catalog.ageSeconds()).toBeLessThan(5);
  });
});
