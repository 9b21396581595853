import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRequestPathRedis } from '@rgw/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { waitForRedisReady } from '../../../test/support/wait-for-redis-ready.ts';
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

async function replica(
  limit: number,
  options: { windowMs?: number; redisCooldownMs?: number; now?: () => number } = {},
): Promise<{ limiter: RedisRateLimiter; client: Redis }> {
  const client = createRequestPathRedis(redisServer.url);
  clients.push(client);
  await waitForRedisReady(client);
  return { limiter: createRedisRateLimiter({ redis: client, limit, ...options }), client };
}

function nextKey(): string {
  keyCounter += 1;
  return hashRateLimitKey(`sk-test-${keyCounter}`);
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
    // The window runs on Redis's own clock (TIME inside the script), which a test cannot move: this
    // waits for the key to be let in, and the promise is the bound (a refused call counts nothing).
    await vi.waitFor(async () => expect((await limiter.consume(key)).allowed).toBe(true), { timeout: refused.retryAfterMs + 1_000, interval: 20 });
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
    await vi.waitFor(() => expect(client.status).not.toBe('ready'), { timeout: 5_000, interval: 10 });
    const whileDown = [];
    for (let i = 0; i < 3; i += 1) whileDown.push((await limiter.consume(key)).allowed);
    expect(whileDown).toEqual([true, true, false]);
    expect(limiter.backend()).toBe('local');
    await redisServer.restart();
    await vi.waitFor(() => expect(client.status).toBe('ready'), { timeout: 10_000, interval: 10 });
    expect(limiter.backend()).toBe('redis');
    expect((await limiter.consume(key)).allowed).toBe(true); // Redis came back empty
  });

  it('falls back after one command timeout when Redis hangs (SIGSTOP), keeps limiting, and tries Redis again after the cooldown', async () => {
    let at = Date.now();
    const { limiter } = await replica(1, { redisCooldownMs: 60_000, now: () => at });
    const key = nextKey();
    redisServer.pause();
    try {
      // Redis answers only after resume: this call is decided by the fallback once the command timed out.
      expect((await limiter.consume(key)).allowed).toBe(true);
      // The cooldown skips Redis: the fallback decides, with no second commandTimeout.
      expect(limiter.backend()).toBe('local');
      expect((await limiter.consume(key)).allowed).toBe(false);
      at += 59_999;
      expect(limiter.backend()).toBe('local');
      at += 1;
      expect(limiter.backend()).toBe('redis');
    } finally {
      redisServer.resume();
    }
  });
});
