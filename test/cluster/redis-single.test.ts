/**
 * One Redis (REDIS_URL), with two gateway replicas and the worker as processes: the shared-state
 * scenarios with no REASONING_ENCRYPTION_KEY, and /ready turning 503 within seconds when Redis
 * stops answering (SIGSTOP) or refuses the replicas' credentials, and back when it recovers.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseSseData } from '../support/read-sse-events.ts';
import { redisCli } from '../support/redis-cli.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { DEFAULT_MODEL_ID, textAnswer } from '../support/scripted-backend.ts';
import { API_KEY, call, create, itSharesStateAcrossReplicas, readiness, useRedisMode } from './redis-mode-scenarios.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  await redis?.stop();
});
const fixture = useRedisMode(() => ({ REDIS_URL: redis.url }));

describe('one Redis (REDIS_URL)', () => {
  itSharesStateAcrossReplicas(fixture);

  it('when Redis fills up during a request: answers 503 store_unavailable (JSON) or error + response.failed (stream), never acknowledging what it could not keep', async () => {
    const { backend, replicas } = fixture;
    const [a, b] = replicas;
    // The backend answers once Redis is full: the request was admitted, its save is refused with OOM.
    backend.setHandler(async () => {
      await redisCli(redis.port, ['config', 'set', 'maxmemory', '1']);
      return textAnswer('An answer Redis has no room for.');
    });
    try {
      const json = await create(a, { input: 'store this' });
      expect(json.status).toBe(503);
      expect(json.headers.get('retry-after')).toBe('10');
      expect(json.body).toMatchObject({ error: { type: 'server_error', code: 'store_unavailable' } });
      expect(String((json.body['error'] as { message: string }).message)).toMatch(/store is full/);
      await redisCli(redis.port, ['config', 'set', 'maxmemory', '0']);

      const response = await fetch(`${b.baseURL}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'stream this', stream: true }),
      });
      const events = parseSseData<{ type: string; code?: string; response?: { id: string; status: string; error?: { code: string } } }>(await response.text());
      expect(events.map((event) => event.type)).not.toContain('response.completed');
      expect(events.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
      expect(events.at(-2)?.code).toBe('store_unavailable');
      expect(events.at(-1)?.response).toMatchObject({ status: 'failed', error: { code: 'store_unavailable' } });
      // Nothing half-kept: the response the stream announced does not exist.
      await redisCli(redis.port, ['config', 'set', 'maxmemory', '0']);
      expect((await call(b, 'GET', `/responses/${events.at(-1)?.response?.id ?? ''}`)).status).toBe(404);
      const metrics = await (await fetch(`${b.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_response_store_failures_total\{operation="put",reason="full"\} [1-9]/);
    } finally {
      await redisCli(redis.port, ['config', 'set', 'maxmemory', '0']);
    }
    for (const replica of replicas) await vi.waitFor(async () => expect((await readiness(replica)).status).toBe(200), { timeout: 10_000, interval: 100 });
  });

  it('turns /ready 503 within seconds when Redis stops answering commands (paused), with the reason, and 200 again after', async () => {
    const { replicas } = fixture;
    redis.pause();
    try {
      for (const replica of replicas) {
        const startedAt = performance.now();
        await vi.waitFor(async () => expect((await readiness(replica)).status).toBe(503), { timeout: 6_000, interval: 100 });
        const took = Math.round(performance.now() - startedAt);
        console.info(`${replica.url}: /ready 503 ${took} ms after: %s`, 'Redis paused');
        expect((await readiness(replica)).body).toMatchObject({ status: 'not_ready', redis: 'down', redis_reason: 'timeout' });
      }
    } finally {
      redis.resume();
    }
    for (const replica of replicas) await vi.waitFor(async () => expect((await readiness(replica)).status).toBe(200), { timeout: 10_000, interval: 100 });
    for (const replica of replicas) {
      const changes = replica
        .logRecords()
        .filter((record) => record['redis'] === 'probe')
        .map((record) => record['msg']);
      expect(changes.slice(-2)).toEqual(['redis commands failing (timeout): not ready', 'redis commands succeed again']);
      const metrics = await (await fetch(`${replica.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_redis_up 1/);
    }
  });

  it('turns /ready 503 with reason auth when Redis refuses the replicas’ credentials, and 200 again once they match', async () => {
    const { replicas } = fixture;
    // A password set on Redis that the replicas were not given: connections are refused as they reconnect.
    await redisCli(redis.port, ['config', 'set', 'requirepass', 'a-password-the-replicas-lack']);
    try {
      await redisCli(redis.port, ['client', 'kill', 'type', 'normal'], { password: 'a-password-the-replicas-lack' });
      await redisCli(redis.port, ['client', 'kill', 'type', 'pubsub'], { password: 'a-password-the-replicas-lack' });
      for (const replica of replicas) {
        await vi.waitFor(async () => expect(await readiness(replica)).toMatchObject({ status: 503, body: { redis_reason: 'auth' } }), {
          timeout: 10_000,
          interval: 100,
        });
        expect(String((await readiness(replica)).body['redis_error'])).toMatch(/NOAUTH/);
      }
    } finally {
      await redisCli(redis.port, ['config', 'set', 'requirepass', ''], { password: 'a-password-the-replicas-lack' });
    }
    for (const replica of replicas) await vi.waitFor(async () => expect((await readiness(replica)).status).toBe(200), { timeout: 10_000, interval: 100 });
  });
});
