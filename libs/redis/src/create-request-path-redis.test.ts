import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { isRedisReady } from './create-redis-clients.ts';
import { createRequestPathRedis } from './create-request-path-redis.ts';

let redisServer: TestRedis;
beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
});
afterAll(async () => {
  await redisServer.stop();
});

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, logger: pino({ level: 'info' }, destination) };
}

describe('createRequestPathRedis', () => {
  it('fails a command at once while Redis is down instead of queueing it', async () => {
    const client = createRequestPathRedis(redisServer.url);
    try {
      await until(() => isRedisReady(client));
      await redisServer.kill();
      const started = performance.now();
      await expect(client.get('key')).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(50);
    } finally {
      client.disconnect();
      await redisServer.restart();
    }
  });

  it('fails a command after the command timeout when Redis hangs', async () => {
    const client = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 200 });
    try {
      await until(() => isRedisReady(client));
      redisServer.pause();
      const started = performance.now();
      await expect(client.get('key')).rejects.toThrow(/timed out/i);
      expect(performance.now() - started).toBeLessThan(600);
    } finally {
      redisServer.resume();
      client.disconnect();
    }
  });

  it('reconnects by itself and logs one line per state change, not one per retry', async () => {
    const { lines, logger } = memoryLogger();
    const client = createRequestPathRedis(redisServer.url, { logger });
    try {
      await until(() => isRedisReady(client));
      await redisServer.kill();
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // several reconnect attempts
      await redisServer.restart();
      await until(() => isRedisReady(client));
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
