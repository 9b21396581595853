import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { isRedisReady } from './create-redis-clients.ts';
import { createRequestPathRedis } from './create-request-path-redis.ts';
import { defineScripts, loadLuaScript, reply } from './lua-script.ts';

const echo = loadLuaScript({
  file: new URL('./__fixtures__/echo-key-1.lua', import.meta.url),
  keys: ['key'],
  args: ['value'],
  decode: (value) => reply.array(value, 'echo').map((part) => reply.string(part, 'echo')),
});
const echoKeys = loadLuaScript({
  file: new URL('./__fixtures__/echo-keys-n.lua', import.meta.url),
  keys: [],
  restKeys: 'keys',
  args: ['value'],
  restArgs: 'extras',
  decode: (value) => reply.array(value, 'echo-keys'),
});

describe('loadLuaScript', () => {
  it('reads the script and checks its file name and header against the named keys and arguments', () => {
    expect(echo).toMatchObject({ name: 'echo-key', keys: ['key'], args: ['value'] });
    expect(echo.lua).toContain('KEYS[1]');
  });

  it('refuses a spec that disagrees with the file: key count, a key or argument named differently, a missing rest list', () => {
    const file = new URL('./__fixtures__/echo-key-1.lua', import.meta.url);
    const decode = (value: unknown) => value;
    expect(() => loadLuaScript({ file, keys: ['key', 'other'], args: ['value'], decode })).toThrow(/takes 1 keys/);
    expect(() => loadLuaScript({ file, keys: ['record'], args: ['value'], decode })).toThrow(/KEYS\[1\] is key, the spec says record/);
    expect(() => loadLuaScript({ file, keys: ['key'], args: ['ttl'], decode })).toThrow(/ARGV\[1\] is value/);
    expect(() => loadLuaScript({ file, keys: ['key'], args: ['value'], restKeys: 'more', decode })).toThrow(/-n script/);
    expect(() => loadLuaScript({ file: new URL('./index.ts', import.meta.url), keys: [], args: [], decode })).toThrow(/numberOfKeys/);
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

  it('runs a script with named keys and arguments, decoded, and keeps running it after Redis lost its script cache', async () => {
    const client = createRequestPathRedis(redisServer.url);
    try {
      await vi.waitFor(() => expect(isRedisReady(client)).toBe(true), { timeout: 5_000, interval: 10 });
      const scripts = defineScripts(client, { echo });
      expect(await scripts.echo({ keys: { key: 'k' }, args: { value: 'v' } })).toEqual(['k', 'v']);
      await client.script('FLUSH'); // what a Redis restart does
      expect(await scripts.echo({ keys: { key: 'k2' }, args: { value: 7 } })).toEqual(['k2', '7']);
    } finally {
      client.disconnect();
    }
  });

  it('passes a variadic script its rest keys as keys and its rest arguments after the named ones', async () => {
    const client = createRequestPathRedis(redisServer.url);
    try {
      await vi.waitFor(() => expect(isRedisReady(client)).toBe(true), { timeout: 5_000, interval: 10 });
      const scripts = defineScripts(client, { echoKeys });
      expect(await scripts.echoKeys({ keys: { keys: ['a'] }, args: { value: 'v', extras: [] } })).toEqual([1, 'a', 'v']);
      expect(await scripts.echoKeys({ keys: { keys: ['a', 'b', 'c'] }, args: { value: 'v', extras: ['x', 2] } })).toEqual([3, 'a', 'b', 'c', 'v', 'x', '2']);
      expect(await scripts.echoKeys({ keys: { keys: [] }, args: { value: 'v', extras: [] } })).toEqual([0, 'v']);
    } finally {
      client.disconnect();
    }
  });

  it('rejects a reply the decoder does not expect instead of passing it on', async () => {
    const client = createRequestPathRedis(redisServer.url);
    try {
      await vi.waitFor(() => expect(isRedisReady(client)).toBe(true), { timeout: 5_000, interval: 10 });
      const strict = loadLuaScript({
        file: new URL('./__fixtures__/echo-key-1.lua', import.meta.url),
        keys: ['key'],
        args: ['value'],
        decode: (value) => reply.integer(value, 'echo'),
      });
      await expect(defineScripts(client, { strict }).strict({ keys: { key: 'k' }, args: { value: 'v' } })).rejects.toThrow(/expected an integer reply/);
    } finally {
      client.disconnect();
    }
  });
});
