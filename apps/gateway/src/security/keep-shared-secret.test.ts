import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { agreeOnSharedSecret, createRequestPathRedis, SHARED_SECRET_KEY } from '@rgw/redis';
import { startRedis, type TestRedis } from '../../../../test/support/redis-server.ts';
import { keepSharedSecret } from './keep-shared-secret.ts';
import { memoryLogger } from '../../../../test/support/memory-logger.ts';

let redisServer: TestRedis;
beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  await redisServer.stop();
});

describe('keepSharedSecret', () => {
  it('puts the agreed secret back when Redis lost it, so a replica started later agrees with the running ones', async () => {
    const client = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 2_000 });
    const { lines, logger } = memoryLogger();
    try {
      await vi.waitFor(() => expect(client.status).toBe('ready'));
      const { secret } = await agreeOnSharedSecret(client);
      const stop = keepSharedSecret(client, secret, { logger, intervalMs: 50 });
      try {
        await client.flushall(); // what an emptied Redis looks like
        await vi.waitFor(async () => expect(await client.get(SHARED_SECRET_KEY)).toBe(secret), { timeout: 5_000, interval: 20 });
        // A replica starting now gets the running replicas' secret, not a new one.
        expect(await agreeOnSharedSecret(client)).toEqual({ secret, created: false });
        expect(lines.map((line) => line['msg'])).toContain(
          'the shared reasoning secret was missing from Redis (Redis lost its data?); put this replica’s back',
        );
      } finally {
        stop();
      }
    } finally {
      client.disconnect();
    }
  });

  it('reports, once, a different secret in Redis: the replicas have split', async () => {
    const client = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 2_000 });
    const { lines, logger } = memoryLogger();
    try {
      await vi.waitFor(() => expect(client.status).toBe('ready'));
      await client.set(SHARED_SECRET_KEY, 'b'.repeat(64));
      const stop = keepSharedSecret(client, 'a'.repeat(64), { logger, intervalMs: 20 });
      try {
        await vi.waitFor(() => expect(lines.some((line) => line['level'] === 50)).toBe(true), { timeout: 5_000, interval: 20 });
        // Three more checks later (counted by Redis itself): still one line.
        const scriptCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? '0');
        const atFirst = await scriptCalls();
        await vi.waitFor(async () => expect(await scriptCalls()).toBeGreaterThanOrEqual(atFirst + 3), { timeout: 5_000, interval: 20 });
        const errors = () => lines.filter((line) => line['level'] === 50);
        expect(errors()).toHaveLength(1);
        expect(String(errors()[0]?.['msg'])).toMatch(/another shared reasoning secret/);
        expect(await client.get(SHARED_SECRET_KEY)).toBe('b'.repeat(64));
      } finally {
        stop();
      }
    } finally {
      client.disconnect();
    }
  });
});
