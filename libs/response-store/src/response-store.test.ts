import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRequestPathRedis } from '@rgw/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import { waitForRedisReady } from '../../../test/support/wait-for-redis-ready.ts';
import { createMemoryResponseStore } from './create-memory-response-store.ts';
import { createRedisResponseStore, itemKey, responseKey } from './create-redis-response-store.ts';
import { type ResponseStore, type StoredResponseRecord, StoreUnavailableError } from './response-store.ts';

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
  await waitForRedisReady(redis);
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

  it('reads, chains and finds items of responses stored under a previous key’s owner hash, listed after the current one', async () => {
    const previous = 'c'.repeat(64);
    await store.save(previous, record('resp_old'));
    const rotated = `${'d'.repeat(64)},${previous}`;
    expect(await store.get(rotated, 'resp_old')).toEqual(record('resp_old'));
    expect((await store.getMany(rotated, ['resp_old']))[0]).toEqual(record('resp_old'));
    expect([...(await store.findItems(rotated, ['msg_in_resp_old'])).keys()]).toEqual(['msg_in_resp_old']);
    expect(await store.get('d'.repeat(64), 'resp_old')).toBeNull();
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
    const store = createRedisResponseStore({ redis, ttlSeconds: 60 });
    await store.save(ALICE, record('resp_1', { status: 'in_progress' }));
    const keys = [responseKey('resp_1'), itemKey(ALICE, 'msg_in_resp_1'), itemKey(ALICE, 'msg_out_resp_1')];
    const ttls = async () => Promise.all(keys.map((key) => redis.pttl(key)));
    // The item index keys expire with the record, or they would outlive it for ever.
    expect(Math.min(...(await ttls()))).toBeGreaterThan(55_000);
    expect(Math.max(...(await ttls()))).toBeLessThanOrEqual(60_000);
    // Redis's clock cannot be moved: 55 s pass for these keys when their TTLs are cut by as much.
    for (const key of keys) await redis.pexpire(key, 5_000);
    // A background run's later update (the only way a response is saved again) keeps the first
    // deadline, for the record and its items alike.
    expect(await store.save(ALICE, record('resp_1', { status: 'completed' }), { unlessCancelled: true })).toBe('saved');
    expect(Math.min(...(await ttls()))).toBeGreaterThan(0);
    expect(Math.max(...(await ttls()))).toBeLessThanOrEqual(5_000);
    // The deadline passes: Redis drops the keys (a TTL ending now), and nothing else answers for them.
    for (const key of keys) await redis.pexpire(key, 0);
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

  it('keys records by response id (spread over Cluster shards) and keeps only the owner hash it is given', async () => {
    await redis.flushall();
    const store = createRedisResponseStore({ redis, ttlSeconds: 60 });
    await store.save(ALICE, record('resp_1'));
    expect((await redis.keys('*')).sort()).toEqual([itemKey(ALICE, 'msg_in_resp_1'), itemKey(ALICE, 'msg_out_resp_1'), 'gw:v2:resp:{resp_1}'].sort());
    expect(await redis.hget(responseKey('resp_1'), 'owner')).toBe(ALICE);
    // Item keys are owner-scoped without naming the owner or the item: same id, other owner, other key.
    expect(itemKey(ALICE, 'msg_in_resp_1')).toMatch(/^gw:v2:item:[\w-]{22}$/);
    expect(itemKey(ALICE, 'msg_in_resp_1')).not.toBe(itemKey(BOB, 'msg_in_resp_1'));
  });

  it('stores a tool list and instructions once for all the turns that repeat them, and reads every turn back whole', async () => {
    await redis.flushall();
    const store = createRedisResponseStore({ redis, ttlSeconds: 60 });
    const tools = Array.from({ length: 20 }, (_, index) => ({
      type: 'function',
      name: `tool_${index}`,
      description: 'Runs a command. '.repeat(10),
      parameters: {},
    }));
    const instructions = 'You are a coding agent. Follow the rules. '.repeat(40);
    const turn = (id: string) => ({ ...record(id), response: { ...record(id).response, tools, instructions } });
    for (const id of ['resp_1', 'resp_2', 'resp_3']) await store.save(ALICE, turn(id), { responseJson: JSON.stringify(turn(id).response) });
    const blobs = await redis.keys('gw:v2:blob:*');
    expect(blobs).toHaveLength(2); // one tool list, one instructions: not three of each
    expect(await store.getMany(ALICE, ['resp_1', 'resp_2', 'resp_3'])).toEqual([turn('resp_1'), turn('resp_2'), turn('resp_3')]);
    // Each record keeps the fields' place (key order of GET /v1/responses/{id} stays the same).
    expect(Object.keys((await store.get(ALICE, 'resp_2'))?.response ?? {})).toEqual(Object.keys(turn('resp_2').response));
    // Another owner with the same tools gets blobs of its own: no record can reach another tenant's data.
    await store.save(BOB, turn('resp_4'));
    expect(await redis.keys('gw:v2:blob:*')).toHaveLength(4);
    // Deleting one turn leaves the others whole.
    await store.delete(ALICE, 'resp_1');
    expect(await store.get(ALICE, 'resp_2')).toEqual(turn('resp_2'));
    // The blobs live at least as long as any record that references them.
    for (const blob of blobs) expect(await redis.ttl(blob)).toBeGreaterThanOrEqual((await redis.ttl(responseKey('resp_3'))) - 1);
  });

  it('compresses a large record body and reads it back exactly', async () => {
    await redis.flushall();
    const store = createRedisResponseStore({ redis, ttlSeconds: 60 });
    const text = 'The quick brown fox jumps over the lazy dog, and the gateway stores it. '.repeat(200);
    const large = { ...record('resp_big'), inputItems: [{ id: 'msg_big', type: 'message', role: 'user', content: [{ type: 'input_text', text }] }] };
    await store.save(ALICE, large);
    const body = await redis.hgetBuffer(responseKey('resp_big'), 'body');
    expect(body?.length).toBeLessThan(JSON.stringify(large).length / 5);
    expect(await store.get(ALICE, 'resp_big')).toEqual(large);
  });

  it('after a key rotation, reads, chains and finds the items of responses stored under the previous key, and writes under the new one', async () => {
    await redis.flushall();
    const store = createRedisResponseStore({ redis, ttlSeconds: 60 });
    const before = 'c'.repeat(64); // ALICE's hash under the old key
    await store.save(before, record('resp_old'));
    const rotated = `${'d'.repeat(64)},${before}`; // new key first, then the previous one
    expect(await store.get(rotated, 'resp_old')).toEqual(record('resp_old'));
    expect((await store.getMany(rotated, ['resp_old']))[0]).toEqual(record('resp_old'));
    expect([...(await store.findItems(rotated, ['msg_out_resp_old'])).keys()]).toEqual(['msg_out_resp_old']);
    expect(await store.readStatus(rotated, 'resp_old')).toBe('completed');
    await store.save(rotated, record('resp_new', { ancestors: ['resp_old'] }));
    expect(await redis.hget(responseKey('resp_new'), 'owner')).toBe('d'.repeat(64));
    // Without the previous key the old responses are another owner's.
    expect(await store.get('d'.repeat(64), 'resp_old')).toBeNull();
    expect(await store.delete('d'.repeat(64), 'resp_old')).toBe(false);
    expect(await store.delete(rotated, 'resp_old')).toBe(true);
  });

  it('refuses a save when Redis is full (maxmemory, noeviction) with a 503 that says so, and keeps serving reads', async () => {
    await redis.flushall();
    const store = createRedisResponseStore({ redis, ttlSeconds: 60 });
    await store.save(ALICE, record('resp_before'));
    await redis.config('SET', 'maxmemory', '1');
    try {
      const refused = await store.save(ALICE, record('resp_full')).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(StoreUnavailableError);
      expect(refused).toMatchObject({ status: 503, code: 'store_unavailable', reason: 'full', headers: { 'retry-after': '10' } });
      expect(String((refused as Error).message)).toMatch(/store is full/);
      expect(await store.get(ALICE, 'resp_before')).toEqual(record('resp_before'));
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    expect(await store.get(ALICE, 'resp_full')).toBeNull();
  });

  it('resolves a save only once a replica has it (WAIT), and refuses it when no replica acknowledges within the bound', async () => {
    await redis.flushall();
    const replicaServer = await startRedis({ mode: 'process' });
    const replica = createRequestPathRedis(replicaServer.url, { commandTimeoutMs: 2_000 });
    const writer = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 2_000 });
    try {
      await waitForRedisReady(replica);
      await replica.call('REPLICAOF', '127.0.0.1', String(redisServer.port));
      // WAIT counts replicas the master sees online (past the initial sync), not what the replica reports.
      await vi.waitFor(async () => expect(await redis.info('replication')).toMatch(/slave0:.*state=online/), { timeout: 10_000 });
      // A generous bound for the save that must succeed (a loaded 2-core CI can stall a process that long), a short one for the refusal.
      const store = createRedisResponseStore({ redis, writer, ttlSeconds: 60, replicaAck: { replicasFor: () => 1, timeoutMs: 2_000 } });
      await store.save(ALICE, record('resp_replicated'));
      // Read from the replica the moment the save resolved: it is there already.
      expect(await replica.hget(responseKey('resp_replicated'), 'status')).toBe('completed');
      for (const itemId of ['msg_in_resp_replicated', 'msg_out_resp_replicated']) expect(await replica.get(itemKey(ALICE, itemId))).toBe('resp_replicated');
      replicaServer.pause();
      try {
        // The replica answers only after resume, which comes after this assertion: the refusal is WAIT's bound.
        const impatient = createRedisResponseStore({ redis, writer, ttlSeconds: 60, replicaAck: { replicasFor: () => 1, timeoutMs: 300 } });
        await expect(impatient.save(ALICE, record('resp_unreplicated'))).rejects.toMatchObject({
          status: 503,
          code: 'store_unavailable',
          reason: 'replica_ack',
        });
      } finally {
        replicaServer.resume();
      }
    } finally {
      await replica.call('REPLICAOF', 'NO', 'ONE').catch(() => undefined);
      replica.disconnect();
      writer.disconnect();
      await replicaServer.stop();
    }
  });

  it('refuses a save, writing nothing, on a master seen alone where the deployment has replicas (a failover under way, a replica down)', async () => {
    await redis.flushall();
    const writer = createRequestPathRedis(redisServer.url, { commandTimeoutMs: 2_000 });
    try {
      await waitForRedisReady(writer);
      const alone = createRedisResponseStore({
        redis,
        writer,
        ttlSeconds: 60,
        replicaAck: { replicasFor: () => 0, replicasExpected: () => true, timeoutMs: 1_000 },
      });
      await expect(alone.save(ALICE, record('resp_alone'))).rejects.toMatchObject({ status: 503, code: 'store_unavailable', reason: 'replica_ack' });
      expect(await redis.exists(responseKey('resp_alone'))).toBe(0);
      // A deployment without replicas: saved at once, as before.
      const standalone = createRedisResponseStore({
        redis,
        writer,
        ttlSeconds: 60,
        replicaAck: { replicasFor: () => 0, replicasExpected: () => false, timeoutMs: 1_000 },
      });
      await standalone.save(ALICE, record('resp_standalone'));
      expect(await redis.exists(responseKey('resp_standalone'))).toBe(1);
    } finally {
      writer.disconnect();
    }
  });

  it('reads, chains, finds and deletes a response the gw:v1 layout stored before the upgrade', async () => {
    await redis.flushall();
    const store = createRedisResponseStore({ redis, ttlSeconds: 60 });
    // What the gw:v1 gateway wrote: one hash per owner and id, its items keyed under it.
    const old = record('resp_v1');
    await redis.hset(`gw:v1:resp:${ALICE}:resp_v1`, 'status', 'completed', 'body', JSON.stringify(old));
    await redis.set(`gw:v1:resp:${ALICE}:item:msg_out_resp_v1`, 'resp_v1');
    expect(await store.get(ALICE, 'resp_v1')).toEqual(old);
    expect(await store.get(BOB, 'resp_v1')).toBeNull();
    expect((await store.getMany(ALICE, ['resp_v1']))[0]).toEqual(old);
    expect([...(await store.findItems(ALICE, ['msg_out_resp_v1'])).keys()]).toEqual(['msg_out_resp_v1']);
    expect((await store.cancel(ALICE, 'resp_v1')).kind).toBe('finished');
    expect(await store.delete(ALICE, 'resp_v1')).toBe(true);
    expect(await redis.keys('gw:v1:*')).toEqual([]);
    expect(await createRedisResponseStore({ redis, ttlSeconds: 60, readLegacyLayout: false }).get(ALICE, 'resp_v1')).toBeNull();
  });

  it('fails fast with a 503 store_unavailable error while Redis is down', async () => {
    const deadRedis = createRequestPathRedis('redis://127.0.0.1:1');
    const store = createRedisResponseStore({ redis: deadRedis, ttlSeconds: 60 });
    try {
      // Nothing ever listens there: a queued command would never be answered, so this would time out.
      await expect(store.get(ALICE, 'resp_1')).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    } finally {
      deadRedis.disconnect();
    }
  });
});
