import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRequestPathRedis } from '@rgw/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { createRedisRateLimiter, type RedisRateLimiter } from './create-redis-rate-limiter.ts';
import { hashRateLimitKey } from './hash-rate-limit-key.ts';

/** Two limiters on two clients stand for two gateway replicas sharing one Redis. */
let redisServer: TestRedis;
const clients: Redis[] = [];
let keyCounter = 0;

beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  await redisServer.stop();
});
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

async function replica(limit: number, options: { windowMs?: number; redisCooldownMs?: number } = {}): Promise<{ limiter: RedisRateLimiter; client: Redis }> {
  const client = createRequestPathRedis(redisServer.url);
  clients.push(client);
  await until(() => client.status === 'ready');
  return { limiter: createRedisRateLimiter({ redis: client, limit, ...options }), client };
}

function nextKey(): string {
  keyCounter += 1;
  return hashRateLimitKey(`sk-test-${keyCounter}`);
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('createRedisRateLimiter', () => {
  it('shares one limit between replicas', async () => {
    const one = await replica(4);
    const two = await replica(4);
    const key = nextKey();
    const allowed = [];
    for (const limiter of [one.limiter, two.limiter, one.limiter, two.limiter, one.limiter, two.limiter]) {
      allowed.push((await limiter.consume(key)).allowed);
    }
    expect(allowed).toEqual([true, true, true, true, false, false]);
    expect(one.limiter.backend()).toBe('redis');
  });

  it('refuses with a retry delay within two windows and the remaining count, and counts nothing refused', async () => {
    const { limiter } = await replica(2);
    const key = nextKey();
    expect(await limiter.consume(key)).toMatchObject({ allowed: true, remaining: 1, limit: 2, retryAfterMs: 0 });
    expect(await limiter.consume(key)).toMatchObject({ allowed: true, remaining: 0 });
    const refused = await limiter.consume(key);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 2 });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(120_000);
    expect(refused.resetMs).toBeGreaterThanOrEqual(refused.retryAfterMs);
  });

  it('lets the key in again after the promised delay (1 s window)', async () => {
    const { limiter } = await replica(3, { windowMs: 1_000 });
    const key = nextKey();
    for (let i = 0; i < 3; i += 1) await limiter.consume(key);
    const refused = await limiter.consume(key);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(2_000);
    await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 20));
    expect((await limiter.consume(key)).allowed).toBe(true);
  });

  it('stores only the key hash, with an expiry', async () => {
    const { limiter, client } = await replica(5);
    const key = nextKey();
    await limiter.consume(key);
    const stored = await client.keys('gw:v2:rl:*');
    expect(stored).toContain(`gw:v2:rl:{${key}}:requests`);
    expect(stored.join(' ')).not.toContain('sk-test');
    const ttl = await client.pttl(`gw:v2:rl:{${key}}:requests`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });

  it('keeps limiting per replica while Redis is down, and shares again after Redis restarts empty', async () => {
    const { limiter, client } = await replica(2);
    const key = nextKey();
    await redisServer.kill();
    await until(() => client.status !== 'ready');
    const whileDown = [];
    for (let i = 0; i < 3; i += 1) whileDown.push((await limiter.consume(key)).allowed);
    expect(whileDown).toEqual([true, true, false]);
    expect(limiter.backend()).toBe('local');
    await redisServer.restart();
    await until(() => client.status === 'ready', 10_000);
    expect(limiter.backend()).toBe('redis');
    expect((await limiter.consume(key)).allowed).toBe(true); // Redis came back empty
  });

  it('falls back within one command timeout when Redis hangs (SIGSTOP), and keeps limiting', async () => {
    const { limiter } = await replica(1, { redisCooldownMs: 60_000 });
    const key = nextKey();
    redisServer.pause();
    try {
      const startedAt = performance.now();
      const first = await limiter.consume(key);
      expect(performance.now() - startedAt).toBeLessThan(2_000);
      expect(first.allowed).toBe(true);
      const secondStartedAt = performance.now();
      expect((await limiter.consume(key)).allowed).toBe(false);
      // The cooldown skips Redis: no second commandTimeout.
      expect(performance.now() - secondStartedAt).toBeLessThan(100);
    } finally {
      redisServer.resume();
    }
  });
});
