import { describe, expect, it, vi } from 'vitest';
import { textAnswer } from '../support/scripted-backend.ts';
import { createResponse, listModelIds, useCluster } from './cluster-test-helpers.ts';

/** The worker lists with this key; a replica lists with none: the backend's log says who listed. */
const WORKER_KEY = 'sk-worker-listing';
const REPLICA_REFRESH = 'model list refreshed by this replica (worker late or down)';

const fixture = useCluster({
  backend: { models: ['org/model-a'] },
  cluster: { replicas: 2, gatewayEnv: { MODELS_REFRESH_SECONDS: '1' }, workerEnv: { MODELS_REFRESH_SECONDS: '1', UPSTREAM_API_KEY: WORKER_KEY } },
});

async function waitForEveryReplicaToList(ids: string[], timeout = 10_000): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const replica of fixture.cluster.replicas) expect(await listModelIds(replica.url)).toEqual(ids);
    },
    { timeout, interval: 100 },
  );
}

/** The backend's `GET /v1/models` requests, with who sent them. */
function listings(): ('worker' | 'replica')[] {
  return fixture.backend.requests
    .filter((request) => request.path === '/v1/models')
    .map((request) => (request.headers.authorization === `Bearer ${WORKER_KEY}` ? 'worker' : 'replica'));
}

/** Every replica's "refreshed by this replica" log line, by its time (ms), in order. */
function replicaRefreshTimes(): number[] {
  return fixture.cluster.replicas
    .flatMap((replica) => replica.logRecords())
    .filter((record) => record['msg'] === REPLICA_REFRESH)
    .map((record) => Date.parse(String(record['time'])))
    .sort((a, b) => a - b);
}

describe('shared model catalogue', () => {
  it('shows a model added or removed at the backend on every replica after a refresh', async () => {
    const { backend } = fixture;
    await waitForEveryReplicaToList(['org/model-a'], 15_000);
    backend.setModels(['org/model-a', 'org/model-b']);
    await waitForEveryReplicaToList(['org/model-a', 'org/model-b']);
    backend.setModels(['org/model-b']);
    await waitForEveryReplicaToList(['org/model-b']);

    // Only the worker lists models (once per second); replicas read Redis, not the backend: over the
    // worker's next three runs, every listing the backend sees is the worker's.
    const before = listings().length;
    await vi.waitFor(
      () =>
        expect(
          listings()
            .slice(before)
            .filter((who) => who === 'worker').length,
        ).toBeGreaterThanOrEqual(3),
      { timeout: 10_000 },
    );
    expect(listings().slice(before)).toEqual(
      listings()
        .slice(before)
        .map(() => 'worker'),
    );
  });

  it('keeps serving with the worker down, and one replica at a time refreshes the list', async () => {
    const { backend, cluster } = fixture;
    backend.setHandler(() => textAnswer('still here'));
    backend.setModels(['org/model-b']);
    await waitForEveryReplicaToList(['org/model-b']);
    const refreshesWithWorker = replicaRefreshTimes().length;
    await cluster.worker?.stop('SIGKILL');

    for (const replica of cluster.replicas) expect((await createResponse(replica.url, 'org/model-b')).status).toBe(200);

    // The list goes stale after 3 refresh periods; then a replica (only one, under the Redis lock) refreshes it.
    backend.setModels(['org/model-b', 'org/model-c']);
    await waitForEveryReplicaToList(['org/model-b', 'org/model-c'], 15_000);
    await vi.waitFor(() => expect(replicaRefreshTimes().length).toBeGreaterThan(refreshesWithWorker), { timeout: 5_000 });

    // The next refresh without the worker: one listing by one replica under the lock, and not before
    // the last refresh went stale (3 s): replicas each listing on their own poll (1 s) would list more
    // often than they refresh, and sooner.
    const refreshesBefore = replicaRefreshTimes().length;
    const listingsBefore = listings().length;
    await vi.waitFor(() => expect(replicaRefreshTimes().length).toBeGreaterThanOrEqual(refreshesBefore + 1), { timeout: 15_000, interval: 100 });
    const refreshes = replicaRefreshTimes().slice(refreshesBefore - 1);
    expect(listings().slice(listingsBefore)).toEqual(refreshes.slice(1).map(() => 'replica'));
    const gaps = refreshes.slice(1).map((at, index) => at - (refreshes[index] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(2_500);
    for (const replica of cluster.replicas) expect((await createResponse(replica.url, 'org/model-c')).status).toBe(200);
  });
});
