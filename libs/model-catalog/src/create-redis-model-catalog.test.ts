import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRequestPathRedis, createSubscriberRedis, isRedisReady } from '@rgw/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { waitForRedisReady } from '../../../test/support/wait-for-redis-ready.ts';
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
  await waitForRedisReady(admin);
  await admin.flushall();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  admin.disconnect();
});

function models(...ids: string[]): ModelEntry[] {
  return ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' }));
}

/** A backend listing whatever the test sets, counting its calls; `hold()` keeps listings waiting until released. */
function backend(initial: ModelEntry[]) {
  const state = { models: initial, calls: 0, fail: false };
  let gate: Promise<void> | undefined;
  return Object.assign(state, {
    hold(): () => void {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    listModels: async () => {
      state.calls += 1;
      await gate;
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

/** What Redis does when nobody refreshed the list for the staleness period: the freshness marker expires. */
async function letListGoStale(): Promise<void> {
  expect(await admin.del(modelKeys.fresh)).toBe(1);
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
    await vi.waitFor(
      () =>
        expect([ids(first), ids(second)]).toEqual([
          ['a', 'new-model'],
          ['a', 'new-model'],
        ]),
      { timeout: 5_000 },
    );
    await publishModelSnapshot(admin, models('new-model'), { freshMs: 60_000 });
    await vi.waitFor(() => expect([ids(first), ids(second)]).toEqual([['new-model'], ['new-model']]), { timeout: 5_000 });
  });

  it('lets a single replica refresh a stale list from the backend while the others wait', async () => {
    const upstream = backend(models('a', 'b'));
    // The first replica to take the refresh lock lists, held, while the other two make their pass.
    const release = upstream.hold();
    const starting = [replica(upstream.listModels), replica(upstream.listModels), replica(upstream.listModels)];
    const done: ModelCatalog[] = [];
    for (const start of starting) void start.then((catalog) => done.push(catalog));
    await vi.waitFor(() => expect([upstream.calls, done.length]).toEqual([1, 2]), { timeout: 10_000 });
    release();
    const catalogs = await Promise.all(starting);
    await vi.waitFor(
      () =>
        expect(catalogs.map(ids)).toEqual([
          ['a', 'b'],
          ['a', 'b'],
          ['a', 'b'],
        ]),
      { timeout: 5_000 },
    );
    expect(upstream.calls).toBe(1);
    expect(await admin.pttl(modelKeys.fresh)).toBeGreaterThan(0);
  });

  it('reads the shared list first even when its subscriber connects before its request-path client', async () => {
    await publishModelSnapshot(admin, models('a'), { freshMs: 60_000 });
    const upstream = backend(models('x'));
    const subscriber = createSubscriberRedis(redisServer.url);
    await vi.waitFor(() => expect(subscriber.status).toBe('ready'), { timeout: 5_000 });
    // Not connected yet: a pass run now would find Redis "down" and ask the backend itself.
    // The request-path client's fail-fast options, connecting only when told to.
    const client = new Redis(redisServer.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000, lazyConnect: true });
    const catalog = createRedisModelCatalog({ listModels: upstream.listModels, redis: client, subscriber, refreshMs: 60_000, pollMs: 100 });
    cleanups.push(async () => {
      await catalog.close();
      client.disconnect();
      subscriber.disconnect();
    });
    // The catalogue's subscriber has subscribed (Redis counts it) before its request-path client connects.
    await vi.waitFor(async () => expect(await admin.pubsub('NUMSUB', modelKeys.channel)).toEqual([modelKeys.channel, 1]), { timeout: 5_000 });
    void client.connect();
    await catalog.start();
    expect(ids(catalog)).toEqual(['a']);
    expect(upstream.calls).toBe(0);
  });

  it('never replaces the shared list with an empty one', async () => {
    await expect(publishModelSnapshot(admin, [], { freshMs: 1_000 })).rejects.toThrow(/empty/);
    const upstream = backend([]);
    await publishModelSnapshot(admin, models('a'), { freshMs: 60_000 });
    await letListGoStale();
    // start() resolves once its first pass is over: that pass read the list, found it stale, and
    // refreshed it from a backend that listed nothing.
    const catalog = await replica(upstream.listModels);
    expect(upstream.calls).toBeGreaterThanOrEqual(1);
    expect(catalog.lastError()).toBe('backend listed no models');
    expect(ids(catalog)).toEqual(['a']);
    expect(await admin.hget(modelKeys.snapshot, 'json')).toContain('"a"');
  });

  it('keeps serving its last list while Redis is down, and rebuilds the shared list when Redis returns empty', async () => {
    const upstream = backend(models('a'));
    const client = createRequestPathRedis(redisServer.url);
    const catalog = createRedisModelCatalog({ listModels: upstream.listModels, redis: client, refreshMs: 60_000, pollMs: 100 });
    cleanups.push(async () => {
      await catalog.close();
      client.disconnect();
    });
    await catalog.start();
    expect(ids(catalog)).toEqual(['a']);
    await redisServer.kill();
    await vi.waitFor(() => expect(isRedisReady(client)).toBe(false), { timeout: 5_000 });
    expect(catalog.resolve('A')).toEqual({ kind: 'found', id: 'a' });
    upstream.models = models('a', 'b');
    await redisServer.restart();
    await vi.waitFor(async () => expect(await admin.hget(modelKeys.snapshot, 'hash')).not.toBeNull(), { timeout: 10_000 });
    await vi.waitFor(() => expect(ids(catalog)).toEqual(['a', 'b']), { timeout: 5_000 });
  });

  // No timing bound: a close that waited for the unsubscribe would wait for Redis, which comes back
  // only after close() resolved, so the test would time out.
  it('closes with a shared subscriber while Redis is down, without waiting for it', { timeout: 15_000 }, async () => {
    const client = createRequestPathRedis(redisServer.url);
    const subscriber = createSubscriberRedis(redisServer.url);
    const catalog = createRedisModelCatalog({ listModels: backend(models('a')).listModels, redis: client, subscriber, refreshMs: 60_000 });
    await catalog.start();
    await vi.waitFor(() => expect(subscriber.status).toBe('ready'), { timeout: 5_000 });
    await redisServer.kill();
    try {
      await catalog.close();
    } finally {
      client.disconnect();
      subscriber.disconnect();
      await redisServer.restart();
    }
  });

  it('fetches directly when it starts with Redis unreachable', async () => {
    const upstream = backend(models('a'));
    const client = createRequestPathRedis('redis://127.0.0.1:1');
    const now = Date.parse('2026-01-05T10:00:00Z');
    const catalog = createRedisModelCatalog({ listModels: upstream.listModels, redis: client, refreshMs: 60_000, now: () => now });
    cleanups.push(async () => {
      await catalog.close();
      client.disconnect();
    });
    await catalog.start();
    expect(ids(catalog)).toEqual(['a']);
    expect(catalog.ageSeconds()).toBe(0); // fetched just now, by this replica
    expect(upstream.calls).toBe(1);
  });
});
