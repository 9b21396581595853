import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRequestPathRedis } from '@rgw/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { createMemoryResponseStore } from './create-memory-response-store.ts';
import { createRedisResponseStore, itemKey, responseKey } from './create-redis-response-store.ts';
import type { ResponseStore, StoredResponseRecord } from './response-store.ts';

const ALICE = 'a'.repeat(64);
const BOB = 'b'.repeat(64);

function record(id: string, options: { status?: string; ancestors?: string[]; input?: string; output?: string } = {}): StoredResponseRecord {
  return {
    response: {
      id,
      object: 'response',
      status: options.status ?? 'completed',
      output: [
        {
          id: options.output ?? `msg_out_${id}`,
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: `answer ${id}`, annotations: [] }],
        },
      ],
      tools: [],
      metadata: {},
    },
    inputItems: [{ id: options.input ?? `msg_in_${id}`, type: 'message', role: 'user', content: [{ type: 'input_text', text: `question ${id}` }] }],
    ancestorIds: options.ancestors ?? [],
  };
}

let redisServer: TestRedis;
let redis: Redis;
beforeAll(async () => {
  redisServer = await startRedis({ mode: 'process' });
  redis = createRequestPathRedis(redisServer.url);
  await redis.ping().catch(async () => {
    await new Promise((resolve) => redis.once('ready', resolve));
  });
});
afterAll(async () => {
  redis?.disconnect();
  await redisServer?.stop();
});

const implementations: [string, () => ResponseStore][] = [
  ['memory', () => createMemoryResponseStore({ maxEntries: 100, ttlSeconds: 60 })],
  ['redis', () => createRedisResponseStore({ redis, ttlSeconds: 60 })],
];

describe.each(implementations)('%s response store', (_name, create) => {
  let store: ResponseStore;
  beforeEach(async () => {
    if (_name === 'redis') await redis.flushall();
    store = create();
  });

  it('returns a saved response, with its input items, to the same owner only', async () => {
    await store.save(ALICE, record('resp_1'));
    expect(await store.get(ALICE, 'resp_1')).toEqual(record('resp_1'));
    expect(await store.get(BOB, 'resp_1')).toBeNull();
    expect(await store.get(ALICE, 'resp_unknown')).toBeNull();
  });

  it('reads back the same record when the caller hands over the response already serialised', async () => {
    const plain = record('resp_plain', { ancestors: ['resp_0'] });
    const withText = { ...record('resp_text', { ancestors: ['resp_0'] }) };
    await store.save(ALICE, plain);
    await store.save(ALICE, withText, { responseJson: JSON.stringify(withText.response) });
    const [readPlain, readWithText] = await store.getMany(ALICE, ['resp_plain', 'resp_text']);
    expect(readPlain).toEqual(plain);
    expect(readWithText).toEqual(withText);
    expect((await store.findItems(ALICE, ['msg_out_resp_text'])).get('msg_out_resp_text')).toEqual(withText.response.output[0]);
  });

  it('keeps empty arrays and nested objects exactly as saved', async () => {
    const saved = { ...record('resp_1'), response: { ...record('resp_1').response, output: [], tools: [], metadata: {} } };
    await store.save(ALICE, saved);
    expect(await store.get(ALICE, 'resp_1')).toEqual(saved);
  });

  it('reads several responses at once, in the order asked, with null for unknown or foreign ids', async () => {
    await store.save(ALICE, record('resp_1'));
    await store.save(ALICE, record('resp_2'));
    await store.save(BOB, record('resp_3'));
    const many = await store.getMany(ALICE, ['resp_2', 'resp_missing', 'resp_1', 'resp_3']);
    expect(many.map((entry) => entry?.response.id ?? null)).toEqual(['resp_2', null, 'resp_1', null]);
  });

  it('deletes a response and its items for its owner, and reports whether it existed', async () => {
    await store.save(ALICE, record('resp_1'));
    expect(await store.delete(BOB, 'resp_1')).toBe(false);
    expect(await store.delete(ALICE, 'resp_1')).toBe(true);
    expect(await store.get(ALICE, 'resp_1')).toBeNull();
    expect((await store.findItems(ALICE, ['msg_out_resp_1'])).size).toBe(0);
    expect(await store.delete(ALICE, 'resp_1')).toBe(false);
  });

  it('finds input and output items by id among the owner’s responses only', async () => {
    await store.save(ALICE, record('resp_1'));
    await store.save(BOB, record('resp_2'));
    const found = await store.findItems(ALICE, ['msg_out_resp_1', 'msg_in_resp_1', 'msg_out_resp_2', 'msg_nope']);
    expect([...found.keys()].sort()).toEqual(['msg_in_resp_1', 'msg_out_resp_1']);
    expect(found.get('msg_out_resp_1')).toMatchObject({ type: 'message', role: 'assistant' });
  });

  it('cancels a queued or in-progress response and then refuses a runner’s conditional save', async () => {
    await store.save(ALICE, record('resp_bg', { status: 'in_progress' }));
    const result = await store.cancel(ALICE, 'resp_bg');
    expect(result.kind).toBe('cancelled');
    expect(await store.readStatus(ALICE, 'resp_bg')).toBe('cancelled');
    expect(await store.save(ALICE, record('resp_bg', { status: 'completed' }), { unlessCancelled: true })).toBe('cancelled');
    expect((await store.get(ALICE, 'resp_bg'))?.response.status).toBe('cancelled');
    // Cancelling again is idempotent.
    expect((await store.cancel(ALICE, 'resp_bg')).kind).toBe('cancelled');
  });

  it('refuses a runner’s conditional save once the response was deleted, instead of re-creating it', async () => {
    await store.save(ALICE, record('resp_bg', { status: 'in_progress' }));
    await store.delete(ALICE, 'resp_bg');
    expect(await store.save(ALICE, record('resp_bg', { status: 'completed' }), { unlessCancelled: true })).toBe('cancelled');
    expect(await store.get(ALICE, 'resp_bg')).toBeNull();
  });

  it('leaves a finished response as it is when asked to cancel it, and knows no foreign id', async () => {
    await store.save(ALICE, record('resp_done'));
    const result = await store.cancel(ALICE, 'resp_done');
    expect(result.kind).toBe('finished');
    expect(await store.readStatus(ALICE, 'resp_done')).toBe('completed');
    expect((await store.cancel(BOB, 'resp_done')).kind).toBe('not_found');
  });

  it('lets a runner move its own response from queued to in progress to completed', async () => {
    await store.save(ALICE, record('resp_bg', { status: 'queued' }));
    expect(await store.save(ALICE, record('resp_bg', { status: 'in_progress' }), { unlessCancelled: true })).toBe('saved');
    expect(await store.save(ALICE, record('resp_bg', { status: 'completed' }), { unlessCancelled: true })).toBe('saved');
    expect((await store.get(ALICE, 'resp_bg'))?.response.status).toBe('completed');
  });
});

describe('memory response store', () => {
  it('forgets a response once its TTL has passed', async () => {
    let now = 1_000_000;
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 30, now: () => now });
    await store.save(ALICE, record('resp_1'));
    now += 29_999;
    expect(await store.get(ALICE, 'resp_1')).not.toBeNull();
    now += 1;
    expect(await store.get(ALICE, 'resp_1')).toBeNull();
    expect((await store.findItems(ALICE, ['msg_out_resp_1'])).size).toBe(0);
  });

  it('evicts the least recently used response beyond its capacity', async () => {
    const store = createMemoryResponseStore({ maxEntries: 2, ttlSeconds: 60 });
    await store.save(ALICE, record('resp_1'));
    await store.save(ALICE, record('resp_2'));
    await store.get(ALICE, 'resp_1'); // resp_2 is now the least recently used
    await store.save(ALICE, record('resp_3'));
    expect((await store.getMany(ALICE, ['resp_1', 'resp_2', 'resp_3'])).map((entry) => entry?.response.id ?? null)).toEqual(['resp_1', null, 'resp_3']);
    // The evicted response's items stop resolving with it; the others' still do.
    expect([...(await store.findItems(ALICE, ['msg_in_resp_1', 'msg_out_resp_2', 'msg_in_resp_2', 'msg_out_resp_3'])).keys()]).toEqual([
      'msg_in_resp_1',
      'msg_out_resp_3',
    ]);
  });

  it('re-indexes a response saved again: its new items resolve, the ones it dropped do not', async () => {
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 60 });
    await store.save(ALICE, record('resp_1', { status: 'queued', output: 'msg_draft' }));
    await store.save(ALICE, record('resp_1', { status: 'completed', output: 'msg_final' }));
    expect([...(await store.findItems(ALICE, ['msg_draft', 'msg_final', 'msg_in_resp_1'])).keys()]).toEqual(['msg_final', 'msg_in_resp_1']);
  });

  it('does not let a caller change a stored record by mutating what it saved or read', async () => {
    const store = createMemoryResponseStore({ maxEntries: 10, ttlSeconds: 60 });
    const saved = structuredClone(record('resp_1')) as { response: { status: string } } & StoredResponseRecord;
    await store.save(ALICE, saved);
    saved.response.status = 'failed';
    const read = (await store.get(ALICE, 'resp_1')) as { response: { status: string } } | null;
    expect(read?.response.status).toBe('completed');
  });
});

describe('redis response store', () => {
  it('expires a response and its item index after the TTL, counted from its first save', async () => {
    await redis.flushall();
    const store = createRedisResponseStore({ redis, ttlSeconds: 1 });
    await store.save(ALICE, record('resp_1', { status: 'in_progress' }));
    const ttl = await redis.pttl(responseKey(ALICE, 'resp_1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    // The item index keys expire with the record, or they would outlive it for ever.
    for (const itemId of ['msg_in_resp_1', 'msg_out_resp_1']) {
      const itemTtl = await redis.pttl(itemKey(ALICE, itemId));
      expect(itemTtl, itemId).toBeGreaterThan(0);
      expect(itemTtl, itemId).toBeLessThanOrEqual(1000);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // Redis's own clock: no fake timers here
    expect(await store.get(ALICE, 'resp_1')).toBeNull();
    expect((await store.findItems(ALICE, ['msg_in_resp_1'])).size).toBe(0);
  });

  it('writes no item keys when a runner’s conditional save is refused', async () => {
    await redis.flushall();
    const store = createRedisResponseStore({ redis, ttlSeconds: 60 });
    await store.save(ALICE, record('resp_bg', { status: 'in_progress', output: 'msg_first' }));
    await store.delete(ALICE, 'resp_bg');
    expect(await store.save(ALICE, record('resp_bg', { status: 'completed', output: 'msg_late' }), { unlessCancelled: true })).toBe('cancelled');
    expect(await redis.keys('*')).toEqual([]);
  });

  it('never stores the owner’s API key, only the hash it is given', async () => {
    await redis.flushall();
    const store = createRedisResponseStore({ redis, ttlSeconds: 60 });
    await store.save(ALICE, record('resp_1'));
    const keys = await redis.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.startsWith(`gw:v1:resp:${ALICE}:`)).toBe(true);
  });

  it('fails fast with a 503 store_unavailable error while Redis is down', async () => {
    const deadRedis = createRequestPathRedis('redis://127.0.0.1:1');
    const store = createRedisResponseStore({ redis: deadRedis, ttlSeconds: 60 });
    const started = performance.now();
    await expect(store.get(ALICE, 'resp_1')).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    expect(performance.now() - started).toBeLessThan(1_000);
    deadRedis.disconnect();
  });
});
