import { describe, expect, it } from 'vitest';
import { createMemoryResponseStore, type StoredResponseRecord } from '@rgw/response-store';
import { layerResponseStores } from './layer-response-stores.ts';

const OWNER = 'o'.repeat(64);

function record(id: string, itemId: string): StoredResponseRecord {
  return {
    response: { id, status: 'completed', output: [{ id: `${itemId}_out`, type: 'message', role: 'assistant', content: [] }] },
    inputItems: [{ id: `${itemId}_in`, type: 'message', role: 'user', content: [] }],
    ancestorIds: [],
  };
}

function setup() {
  const cache = createMemoryResponseStore({ maxEntries: 4, ttlSeconds: 60 });
  const shared = createMemoryResponseStore({ maxEntries: 100, ttlSeconds: 60 });
  return { cache, shared, layered: layerResponseStores(cache, shared) };
}

describe('layerResponseStores', () => {
  it('reads the cache first and falls through to the shared store, keeping the order asked for', async () => {
    const { cache, shared, layered } = setup();
    await cache.save(OWNER, record('resp_local', 'local'));
    await shared.save(OWNER, record('resp_shared', 'shared'));
    await shared.save(OWNER, { ...record('resp_local', 'stale'), response: { ...record('resp_local', 'stale').response, status: 'failed' } });

    expect((await layered.get(OWNER, 'resp_local'))?.response.status).toBe('completed');
    expect((await layered.get(OWNER, 'resp_shared'))?.response.id).toBe('resp_shared');
    const many = await layered.getMany(OWNER, ['resp_shared', 'resp_missing', 'resp_local']);
    expect(many.map((found) => found?.response.id ?? null)).toEqual(['resp_shared', null, 'resp_local']);
    const items = await layered.findItems(OWNER, ['local_in', 'shared_out', 'nothing']);
    expect([...items.keys()].sort()).toEqual(['local_in', 'shared_out']);
  });

  it('writes and deletes in the cache only: the shared store is the turn runner\u2019s to write', async () => {
    const { cache, shared, layered } = setup();
    await layered.save(OWNER, record('resp_new', 'new'));
    expect(await cache.get(OWNER, 'resp_new')).not.toBeNull();
    expect(await shared.get(OWNER, 'resp_new')).toBeNull();
    await shared.save(OWNER, record('resp_kept', 'kept'));
    await cache.save(OWNER, record('resp_kept', 'kept'));
    expect(await layered.delete(OWNER, 'resp_kept')).toBe(true);
    expect(await shared.get(OWNER, 'resp_kept')).not.toBeNull();
  });
});
