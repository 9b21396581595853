import { describe, expect, it, vi } from 'vitest';
import { httpError, textAnswer } from '../support/scripted-backend.ts';
import { createResponse, listModelIds, useCluster } from './cluster-test-helpers.ts';

const FAILING = 'org/failing-model';
const HEALTHY = 'org/healthy-model';

const fixture = useCluster({
  backend: { models: [FAILING, HEALTHY] },
  cluster: {
    replicas: 2,
    gatewayEnv: { CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2', CIRCUIT_BREAKER_OPEN_SECONDS: '60', UPSTREAM_MAX_RETRIES: '0' },
  },
});

describe('shared circuit breaker across replicas', () => {
  it('counts failures seen by different replicas together, and the opened breaker holds on every replica without a backend call', async () => {
    const { backend, cluster } = fixture;
    backend.setHandler((request) =>
      request.body?.model === FAILING ? httpError(503, { message: 'no instances available', type: 'ServiceUnavailable' }) : textAnswer('ok'),
    );
    const [a, b] = cluster.replicas;
    if (a === undefined || b === undefined) throw new Error('two replicas expected');
    await vi.waitFor(
      async () =>
        expect([await listModelIds(a.url), await listModelIds(b.url)]).toEqual([
          [FAILING, HEALTHY],
          [FAILING, HEALTHY],
        ]),
      {
        timeout: 15_000,
      },
    );

    expect((await createResponse(a.url, FAILING)).status).toBe(502); // failure 1, through A
    expect((await createResponse(b.url, FAILING)).status).toBe(502); // failure 2, through B: threshold reached
    const backendCalls = backend.chatRequests().length;

    for (const replica of [a, b, a]) {
      const refused = await createResponse(replica.url, FAILING);
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(50);
    }
    expect(backend.chatRequests().length).toBe(backendCalls);

    // One dead model does not block the others.
    expect((await createResponse(b.url, HEALTHY)).status).toBe(200);
  });
});
