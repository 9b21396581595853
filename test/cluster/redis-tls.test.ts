/**
 * A TLS Redis (rediss://) whose server certificate a private CA made by openssl at test time
 * signed, with mutual TLS (the replicas and the worker present a client certificate): the
 * shared-state scenarios, and /ready turning 503 with reason tls when the server presents a
 * certificate the configured CA did not sign, and 200 again when it presents the right one.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTlsRedis, type TestTlsRedis } from '../support/redis-tls.ts';
import { itSharesStateAcrossReplicas, readiness, useRedisMode } from './redis-mode-scenarios.ts';

let redis: TestTlsRedis;
beforeAll(async () => {
  redis = await startTlsRedis({ mutual: true });
});
afterAll(async () => {
  await redis?.stop();
});
const fixture = useRedisMode(() => ({
  REDIS_URL: redis.url,
  REDIS_TLS_CA_FILE: redis.caFile,
  REDIS_TLS_CERT_FILE: redis.clientCertFile,
  REDIS_TLS_KEY_FILE: redis.clientKeyFile,
}));

describe('TLS Redis with a private CA and mutual TLS (rediss://)', () => {
  itSharesStateAcrossReplicas(fixture);

  it('turns /ready 503 with reason tls when the server certificate is from an untrusted CA, and 200 again after', async () => {
    const { replicas } = fixture;
    await redis.serveUntrustedCertificate();
    try {
      for (const replica of replicas) {
        const startedAt = performance.now();
        await vi.waitFor(async () => expect(await readiness(replica)).toMatchObject({ status: 503, body: { redis_reason: 'tls' } }), {
          timeout: 6_000,
          interval: 100,
        });
        const took = Math.round(performance.now() - startedAt);
        console.info(`${replica.url}: /ready 503 ${took} ms after: %s`, 'untrusted CA');
        expect(String((await readiness(replica)).body['redis_error'])).toMatch(/certificate/i);
      }
    } finally {
      await redis.serveTrustedCertificate();
    }
    for (const replica of replicas) await vi.waitFor(async () => expect((await readiness(replica)).status).toBe(200), { timeout: 15_000, interval: 100 });
  });
});
