import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { modelKeys } from '@rgw/model-catalog';
import { httpError, textAnswer } from '../support/scripted-backend.ts';
import { createResponse, useCluster } from './cluster-test-helpers.ts';

const MODEL = 'org/model-a';
const FAILING = 'org/failing-model';

const fixture = useCluster({
  backend: { models: [MODEL, FAILING] },
  cluster: {
    replicas: 2,
    gatewayEnv: { MODELS_REFRESH_SECONDS: '1', CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2', CIRCUIT_BREAKER_OPEN_SECONDS: '60', UPSTREAM_MAX_RETRIES: '0' },
    workerEnv: { MODELS_REFRESH_SECONDS: '1' },
  },
});

async function readiness(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('Redis outage', () => {
  it('keeps stateless requests succeeding and fails stored ones cleanly while Redis is killed and restarted empty; readiness says why; shared state rebuilds', async () => {
    const { backend, cluster } = fixture;
    const redisServer = cluster.redis;
    if (redisServer === null) throw new Error('the cluster should own its Redis');
    backend.setHandler((request) =>
      request.body?.model === FAILING ? httpError(503, { message: 'no instances', type: 'ServiceUnavailable' }) : textAnswer('ok'),
    );
    await vi.waitFor(async () => expect((await createResponse(cluster.url, MODEL)).status).toBe(200), { timeout: 15_000, interval: 100 });

    const stateless: number[] = [];
    const stored: { status: number; code: unknown; retryAfter: string | null }[] = [];
    let running = true;
    const traffic = (async () => {
      while (running) {
        stateless.push((await createResponse(cluster.url, MODEL, 'hi', { store: false })).status);
        const answer = await createResponse(cluster.url, MODEL);
        stored.push({
          status: answer.status,
          code: (answer.body as { error?: { code?: unknown } } | null)?.error?.code,
          retryAfter: answer.headers.get('retry-after'),
        });
      }
    })();

    // Traffic flows before the fault: both kinds answered.
    await vi.waitFor(() => expect(Math.min(stateless.length, stored.length)).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
    await redisServer.kill();
    // The probe turns every replica unready within seconds, with the reason (a load balancer routes around it).
    for (const replica of cluster.replicas) {
      await vi.waitFor(async () => expect((await readiness(replica.url)).status).toBe(503), { timeout: 10_000, interval: 100 });
      expect((await readiness(replica.url)).body).toMatchObject({ status: 'not_ready', redis: 'down', redis_reason: 'connection' });
    }
    // During the outage: stateless requests keep being answered, and a stored one is refused.
    const duringOutage = stateless.length;
    const storedDuringOutage = stored.length;
    await vi.waitFor(
      () => {
        expect(stateless.length).toBeGreaterThanOrEqual(duringOutage + 3);
        expect(stored.slice(storedDuringOutage).map((answer) => answer.status)).toContain(503);
      },
      { timeout: 10_000 },
    );
    await redisServer.restart();
    for (const replica of cluster.replicas) {
      await vi.waitFor(async () => expect((await readiness(replica.url)).status).toBe(200), { timeout: 10_000, interval: 100 });
    }
    // After it: stored requests are answered again.
    const storedAtRecovery = stored.length;
    await vi.waitFor(() => expect(stored.slice(storedAtRecovery).map((answer) => answer.status)).toContain(200), { timeout: 10_000 });
    running = false;
    await traffic;

    expect(stateless.length).toBeGreaterThan(duringOutage); // stateless requests kept flowing during the outage
    expect(stateless.filter((status) => status !== 200)).toEqual([]);
    // A stored request is answered or refused cleanly (503 store_unavailable, Retry-After): never a 500, never a hang.
    expect(
      stored.filter((answer) => answer.status !== 200 && !(answer.status === 503 && answer.code === 'store_unavailable' && answer.retryAfter !== null)),
    ).toEqual([]);
    expect(stored.some((answer) => answer.status === 503)).toBe(true);
    expect(stored.at(-1)?.status).toBe(200);
    // Logged once per state change (per connection), not once per request or reconnect attempt.
    for (const replica of cluster.replicas) {
      const outageLines = replica.logRecords().filter((record) => String(record['msg']).startsWith('redis unavailable'));
      expect(outageLines.length).toBeGreaterThanOrEqual(1);
      expect(outageLines.length).toBeLessThanOrEqual(4);
      expect(replica.logRecords().filter((record) => String(record['msg']).startsWith('redis commands failing'))).toHaveLength(1);
    }

    // Shared state rebuilds: the model list is back in Redis and the breaker is shared again.
    const admin = new Redis(cluster.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await admin.connect();
      await vi.waitFor(async () => expect(await admin.hget(modelKeys.snapshot, 'hash')).not.toBeNull(), { timeout: 10_000, interval: 100 });
    } finally {
      admin.disconnect();
    }
    const [a, b] = cluster.replicas;
    if (a === undefined || b === undefined) throw new Error('two replicas expected');
    await vi.waitFor(
      async () => expect([(await readiness(a.url)).body['breaker_state'], (await readiness(b.url)).body['breaker_state']]).toEqual(['redis', 'redis']),
      { timeout: 10_000, interval: 100 },
    );
    expect((await createResponse(a.url, FAILING)).status).toBe(502);
    expect((await createResponse(b.url, FAILING)).status).toBe(502);
    const calls = backend.chatRequests().length;
    expect((await createResponse(a.url, FAILING)).status).toBe(503);
    expect(backend.chatRequests().length).toBe(calls);
  });
});
