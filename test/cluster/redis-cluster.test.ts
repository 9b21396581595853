/**
 * A real 3-master Redis Cluster (REDIS_CLUSTER_NODES), with two gateway replicas and the worker as
 * processes: the shared-state scenarios, stored responses spread over every shard and all
 * readable from both replicas, /ready turning 503 within seconds when one master stalls, and
 * REDIS_URL pointed at a Cluster node refused at start with a message naming REDIS_CLUSTER_NODES.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { responseKey } from '@rgw/response-store';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.ts';
import { textAnswer } from '../support/scripted-backend.ts';
import { startGateway } from '../support/start-gateway.ts';
import { call, create, itSharesStateAcrossReplicas, readiness, useRedisMode } from './redis-mode-scenarios.ts';

let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});
const fixture = useRedisMode(() => ({ REDIS_CLUSTER_NODES: cluster.nodesEnv }));

describe('Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  itSharesStateAcrossReplicas(fixture);

  it('spreads one key’s stored responses over every shard, each readable and chainable from either replica', async () => {
    const { backend, replicas } = fixture;
    const [a, b] = replicas;
    backend.setHandler(() => textAnswer('stored'));
    const ids: string[] = [];
    for (let index = 0; index < 24; index += 1) {
      const previous = ids.at(-1);
      const answer = await create(index % 2 === 0 ? a : b, { input: `turn ${index}`, ...(previous === undefined ? {} : { previous_response_id: previous }) });
      expect(answer.status).toBe(200);
      ids.push(String(answer.body['id']));
    }
    const shards = new Set(await Promise.all(ids.map(async (id) => (await cluster.nodeFor(responseKey(id))).port)));
    expect(shards.size).toBe(3);
    for (const id of ids) {
      expect((await call(a, 'GET', `/responses/${id}`)).status).toBe(200);
      expect((await call(b, 'GET', `/responses/${id}/input_items`)).status).toBe(200);
    }
    // The last turn's chain reads all 23 earlier turns, from all three shards.
    const last = await create(a, { input: 'and now?', previous_response_id: ids.at(-1) });
    expect(last.status).toBe(200);
    expect(backend.chatRequests().at(-1)?.body?.messages).toHaveLength(2 * 24 + 1);
  });

  it('turns /ready 503 within seconds when one master stalls, naming it, and 200 again after', async () => {
    const { replicas } = fixture;
    const [, stalled] = cluster.nodes;
    if (stalled === undefined) throw new Error('three masters expected');
    cluster.pause(stalled);
    try {
      for (const replica of replicas) {
        const startedAt = performance.now();
        await vi.waitFor(async () => expect((await readiness(replica)).status).toBe(503), { timeout: 6_000, interval: 100 });
        const took = Math.round(performance.now() - startedAt);
        console.info(`${replica.url}: /ready 503 ${took} ms after: %s`, 'one Cluster master stalled');
        const { body } = await readiness(replica);
        expect(body).toMatchObject({ redis: 'down', redis_reason: 'timeout' });
        expect(String(body['redis_error'])).toContain(`:${stalled.port}`);
      }
    } finally {
      cluster.resume(stalled);
    }
    for (const replica of replicas) await vi.waitFor(async () => expect((await readiness(replica)).status).toBe(200), { timeout: 15_000, interval: 100 });
  });

  it('refuses at start a REDIS_URL that points at a Cluster node, naming REDIS_CLUSTER_NODES', async () => {
    const [node] = cluster.nodes;
    await expect(
      startGateway({
        env: { UPSTREAM_BASE_URL: fixture.backend.url, REDIS_URL: `redis://${node?.host}:${node?.port}`, REASONING_ENCRYPTION_KEY: 'k'.repeat(32) },
      }),
    ).rejects.toThrow(/exited \(78\)[\s\S]*REDIS_URL points at a Redis Cluster node[\s\S]*REDIS_CLUSTER_NODES/);
  });
});
