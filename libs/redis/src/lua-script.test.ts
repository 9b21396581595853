import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { createRequestPathRedis, isRedisReady } from './create-request-path-redis.ts';
import { defineScripts, loadLuaScript } from './lua-script.ts';

const echo = loadLuaScript(new URL('./__fixtures__/echo-key-1.lua', import.meta.url));
const echoKeys = loadLuaScript(new URL('./__fixtures__/echo-keys-n.lua', import.meta.url));

describe('loadLuaScript', () => {
  it('takes the number of keys from the file name', () => {
    expect(echo).toMatchObject({ name: 'echo-key', numberOfKeys: 1 });
    expect(echo.lua).toContain('KEYS[1]');
    expect(echoKeys).toMatchObject({ name: 'echo-keys', numberOfKeys: null });
  });

  it('refuses a file not named <name>-<numberOfKeys>.lua', () => {
    expect(() => loadLuaScript(new URL('./index.ts', import.meta.url))).toThrow(/numberOfKeys/);
  });
});

describe('defineScripts', () => {
  let redisServer: TestRedis;
  beforeAll(async () => {
    redisServer = await startRedis({ mode: 'process' });
  });
  afterAll(async () => {
    await redisServer.stop();
  });

  it('runs a script, and keeps running it after Redis lost its script cache', async () => {
    const client = createRequestPathRedis(redisServer.url);
    try {
      while (!isRedisReady(client)) await new Promise((resolve) => setTimeout(resolve, 10));
      const scripts = defineScripts(client, { echo });
      expect(await scripts.echo(['k'], ['v'])).toEqual(['k', 'v']);
      await client.script('FLUSH'); // what a Redis restart does
      expect(await scripts.echo(['k2'], [7])).toEqual(['k2', '7']);
      await expect(scripts.echo([], ['v'])).rejects.toThrow(/takes 1 keys/);
    } finally {
      client.disconnect();
    }
  });

  it('passes a variadic script however many keys it is given, as keys', async () => {
    const client = createRequestPathRedis(redisServer.url);
    try {
      while (!isRedisReady(client)) await new Promise((resolve) => setTimeout(resolve, 10));
      const scripts = defineScripts(client, { echoKeys });
      expect(await scripts.echoKeys(['a'], ['v'])).toEqual([1, 'a', 'v']);
      expect(await scripts.echoKeys(['a', 'b', 'c'], ['v'])).toEqual([3, 'a', 'b', 'c', 'v']);
      expect(await scripts.echoKeys([], ['v'])).toEqual([0, 'v']);
    } finally {
      client.disconnect();
    }
  });
});
