import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { isRedisReady } from './create-redis-clients.ts';
import { createRequestPathRedis } from './create-request-path-redis.ts';
import { memoryLogger } from '../../../test/support/memory-logger.ts';

let redisServer: TestRedis;
beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  await redisServer.stop();
});

async function waitForReady(client: Parameters<typeof isRedisReady>[0]): Promise<void> {
  // After a restart the client may be in its reconnect backoff for a few seconds.
  await vi.waitFor(() => expect(isRedisReady(client)).toBe(true), { timeout: 10_000, interval: 10 });
}

describe('createRequestPathRedis', () => {
  it('fails a command at once while Redis is down instead of queueing it', async () => {
    const client = createRequestPathRedis(redisServer.url);
    try {
      await waitForReady(client);
      await redisServer.kill();
      await vi.waitFor(() => expect(client.status).not.toBe('ready'), { timeout: 5_000, interval: 10 });
      // Refused by the client itself (no offline queue): a queued command would wait for Redis, which
      // comes back only after this assertion.
      await expect(client.get('key')).rejects.toThrow(/enableOfflineQueue options is false/);
    } finally {
      client.disconnect();
      await redisServer.restart();
    }
  });

  it('fails a command after the command timeout when Redis hangs', async () => {
    const client = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 200 });
    try {
      await waitForReady(client);
      redisServer.pause();
      // Redis answers only after resume, which comes after this assertion: the rejection is the timeout's.
      await expect(client.get('key')).rejects.toThrow(/timed out/i);
    } finally {
      redisServer.resume();
      client.disconnect();
    }
  });

  it('reconnects by itself and logs one line per state change, not one per retry', async () => {
    const { lines, logger } = memoryLogger();
    const client = createRequestPathRedis(redisServer.url, { logger });
    try {
      await waitForReady(client);
      let reconnects = 0;
      client.on('reconnecting', () => (reconnects += 1));
      await redisServer.kill();
      await vi.waitFor(() => expect(reconnects).toBeGreaterThanOrEqual(3), { timeout: 10_000 }); // several failed attempts
      await redisServer.restart();
      await waitForReady(client);
      expect(await client.ping()).toBe('PONG');
      expect(lines.map((line) => line['msg'])).toEqual([
        'redis connection ready',
        'redis unavailable; serving from local state until it returns',
        'redis connection ready',
      ]);
    } finally {
      client.disconnect();
    }
  });
});
