import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { httpError, textAnswer } from '../support/scripted-backend.ts';
import { createResponse, sleep, until, useCluster } from './cluster-test-helpers.ts';

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
  it('keeps every request succeeding while Redis is killed and restarted empty, then rebuilds the shared state', async () => {
    const { backend, cluster } = fixture;
    const redisServer = cluster.redis;
    if (redisServer === null) throw new Error('the cluster should own its Redis');
    backend.setHandler((request) =>
      request.body?.model === FAILING ? httpError(503, { message: 'no instances', type: 'ServiceUnavailable' }) : textAnswer('ok'),
    );
    await until(async () => (await createResponse(cluster.url, MODEL)).status === 200, 15_000, 'cluster serving');

    const statuses: number[] = [];
    let running = true;
    const traffic = (async () => {
      while (running) statuses.push((await createResponse(cluster.url, MODEL)).status);
    })();

    await sleep(500);
    await redisServer.kill();
    await sleep(1_500);
    for (const replica of cluster.replicas) {
      const ready = await readiness(replica.url);
      expect(ready.status).toBe(200); // fail open: a Redis outage must not empty the load balancer
      expect(ready.body['redis']).toBe('down');
    }
    const duringOutage = statuses.length;
    await redisServer.restart();
    await sleep(1_000);
    running = false;
    await traffic;

    expect(statuses.length).toBeGreaterThan(duringOutage); // requests kept flowing during the outage
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    // Logged once per state change (per connection), not once per request or reconnect attempt.
    for (const replica of cluster.replicas) {
      const outageLines = replica.logRecords().filter((record) => String(record['msg']).startsWith('redis unavailable'));
      expect(outageLines.length).toBeGreaterThanOrEqual(1);
      expect(outageLines.length).toBeLessThanOrEqual(2);
    }

    // Shared state rebuilds: the model list is back in Redis and the breaker is shared again.
    const admin = new Redis(cluster.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await admin.connect();
      await until(async () => (await admin.hget('gw:v1:models:snapshot', 'hash')) !== null, 10_000, 'model snapshot republished');
    } finally {
      admin.disconnect();
    }
    const [a, b] = cluster.replicas;
    if (a === undefined || b === undefined) throw new Error('two replicas expected');
    await until(
      async () => (await readiness(a.url)).body['breaker_state'] === 'redis' && (await readiness(b.url)).body['breaker_state'] === 'redis',
      10_000,
      'breaker back on Redis',
    );
    expect((await createResponse(a.url, FAILING)).status).toBe(502);
    expect((await createResponse(b.url, FAILING)).status).toBe(502);
    const calls = backend.chatRequests().length;
    expect((await createResponse(a.url, FAILING)).status).toBe(503);
    expect(backend.chatRequests().length).toBe(calls);
  });
});
