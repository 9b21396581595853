import { describe, expect, it } from 'vitest';
import { textAnswer } from '../support/scripted-backend.ts';
import { createResponse, listModelIds, sleep, until, useCluster } from './cluster-test-helpers.ts';

const fixture = useCluster({
  backend: { models: ['org/model-a'] },
  cluster: { replicas: 2, gatewayEnv: { MODELS_REFRESH_SECONDS: '1' }, workerEnv: { MODELS_REFRESH_SECONDS: '1' } },
});

async function everyReplicaLists(ids: string[]): Promise<boolean> {
  for (const replica of fixture.cluster.replicas) {
    if (JSON.stringify(await listModelIds(replica.url)) !== JSON.stringify(ids)) return false;
  }
  return true;
}

describe('shared model catalogue', () => {
  it('shows a model added or removed at the backend on every replica after a refresh', async () => {
    const { backend } = fixture;
    await until(() => everyReplicaLists(['org/model-a']), 15_000, 'initial list');
    backend.setModels(['org/model-a', 'org/model-b']);
    await until(() => everyReplicaLists(['org/model-a', 'org/model-b']), 10_000, 'model-b added everywhere');
    backend.setModels(['org/model-b']);
    await until(() => everyReplicaLists(['org/model-b']), 10_000, 'model-a removed everywhere');

    // Only the worker lists models (once per second); replicas read Redis, not the backend.
    const listingsBefore = backend.requests.filter((request) => request.path === '/v1/models').length;
    await sleep(3_000);
    expect(backend.requests.filter((request) => request.path === '/v1/models').length - listingsBefore).toBeLessThanOrEqual(5);
  });

  it('keeps serving with the worker down, and one replica at a time refreshes the list', async () => {
    const { backend, cluster } = fixture;
    backend.setHandler(() => textAnswer('still here'));
    backend.setModels(['org/model-b']);
    await until(() => everyReplicaLists(['org/model-b']), 10_000, 'list settled');
    await cluster.worker?.stop('SIGKILL');

    for (const replica of cluster.replicas) expect((await createResponse(replica.url, 'org/model-b')).status).toBe(200);

    // The list goes stale after 3 refresh periods; then a replica (only one, under the Redis lock) refreshes it.
    backend.setModels(['org/model-b', 'org/model-c']);
    await until(() => everyReplicaLists(['org/model-b', 'org/model-c']), 15_000, 'model-c seen without the worker');

    const listingsBefore = backend.requests.filter((request) => request.path === '/v1/models').length;
    await sleep(6_000);
    const listings = backend.requests.filter((request) => request.path === '/v1/models').length - listingsBefore;
    // Stale every 3 s → about 2 listings in 6 s for the whole cluster; each replica polling on its own
    // (2 replicas × 1 poll/s) would be ~12.
    expect(listings).toBeGreaterThanOrEqual(1);
    expect(listings).toBeLessThanOrEqual(4);
    for (const replica of cluster.replicas) expect((await createResponse(replica.url, 'org/model-c')).status).toBe(200);
  });
});
