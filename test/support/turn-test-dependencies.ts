/**
 * The real turn machinery (upstream client, memory breaker, catalogue, metrics, sealer) pointed at a
 * scripted backend, for tests that run turns without an HTTP gateway in front (background runs, the
 * turn runner itself). Nothing is stubbed: turns go over HTTP to the backend.
 */
import { createMemoryBreaker, type MemoryBreaker } from '@rgw/breaker';
import { createEmbeddedModelCatalog } from '@rgw/model-catalog';
import { createGatewayMetrics, type GatewayMetrics } from '@rgw/observability';
import { createUpstreamClient } from '@rgw/upstream';
import { createReasoningSealer } from '../../apps/gateway/src/security/create-reasoning-sealer.ts';
import type { TurnDependencies } from '../../apps/gateway/src/turns/turn-dependencies.ts';

export interface TurnTestDependencies extends TurnDependencies {
  readonly breaker: MemoryBreaker;
  readonly metrics: GatewayMetrics;
  close(): Promise<void>;
}

export async function createTurnTestDependencies(backendUrl: string, options: { readonly failureThreshold?: number } = {}): Promise<TurnTestDependencies> {
  const upstream = createUpstreamClient({ baseUrl: backendUrl, connectTimeoutMs: 2_000, headersTimeoutMs: 10_000, idleTimeoutMs: 10_000, maxRetries: 0 });
  const catalog = createEmbeddedModelCatalog({ listModels: (signal) => upstream.listModels({ signal }), refreshMs: 60_000 });
  await catalog.start();
  const breaker = createMemoryBreaker({ failureThreshold: options.failureThreshold ?? 3, openMs: 30_000 });
  const sealer = createReasoningSealer('a-test-reasoning-key-of-at-least-32-chars');
  let counter = 0;
  return {
    catalog,
    breaker,
    upstream,
    upstreamName: new URL(backendUrl).host,
    metrics: createGatewayMetrics({ collectDefaultMetrics: false }),
    createId: (prefix) => `${prefix}_${String((counter += 1)).padStart(8, '0')}`,
    now: () => Math.floor(Date.now() / 1000),
    sealReasoning: (text) => sealer.seal(text),
    unsealReasoning: (blob) => sealer.unseal(blob),
    async close() {
      await Promise.allSettled([catalog.close(), breaker.close(), upstream.close()]);
    },
  };
}
