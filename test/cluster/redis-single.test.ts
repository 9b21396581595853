/**
 * One Redis (REDIS_URL), with two gateway replicas and the worker as processes: the shared-state
 * scenarios with no REASONING_ENCRYPTION_KEY, and /ready turning 503 within seconds when Redis
 * stops answering (SIGSTOP) or refuses the replicas' credentials, and back when it recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCli } from '../support/redis-cli.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { itSharesStateAcrossReplicas, readiness, useRedisMode, within } from './redis-mode-scenarios.ts';

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

  it('turns /ready 503 within seconds when Redis stops answering commands (paused), with the reason, and 200 again after', async () => {
    const { replicas } = fixture;
    redis.pause();
    try {
      for (const replica of replicas) {
        const took = await within(
          10_000,
          () => readiness(replica),
          (ready) => ready.status === 503,
        );
        expect(took).toBeLessThan(6_000);
        console.info(`${replica.url}: /ready 503 ${took} ms after: %s`, 'Redis paused');
        expect((await readiness(replica)).body).toMatchObject({ status: 'not_ready', redis: 'down', redis_reason: 'timeout' });
      }
    } finally {
      redis.resume();
    }
    for (const replica of replicas)
      await within(
        10_000,
        () => readiness(replica),
        (ready) => ready.status === 200,
      );
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
        await within(
          10_000,
          () => readiness(replica),
          (ready) => ready.status === 503 && ready.body['redis_reason'] === 'auth',
        );
        expect(String((await readiness(replica)).body['redis_error'])).toMatch(/NOAUTH/);
      }
    } finally {
      await redisCli(redis.port, ['config', 'set', 'requirepass', ''], { password: 'a-password-the-replicas-lack' });
    }
    for (const replica of replicas)
      await within(
        10_000,
        () => readiness(replica),
        (ready) => ready.status === 200,
      );
  });
});
