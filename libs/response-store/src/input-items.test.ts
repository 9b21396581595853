import { describe, expect, it } from 'vitest';
import { buildConversationItems } from './build-conversation-items.ts';
import { createApiKeyHasher } from './create-api-key-hasher.ts';
import { normalizeInputItems } from './normalize-input-items.ts';
import { paginateInputItems } from './paginate-input-items.ts';
import type { StoredItem, StoredResponseRecord } from './response-store.ts';

function counterIds(): (prefix: string) => string {
  let next = 0;
  return (prefix) => `${prefix}_${++next}`;
}

describe('normalizeInputItems', () => {
  it('turns a string input into one completed user message with an id', () => {
    expect(normalizeInputItems('Hi', counterIds())).toEqual([
      { id: 'msg_1', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'Hi' }] },
    ]);
  });

  it('gives id-less items typed ids and a status, keeps ids clients sent, and turns message text into parts', () => {
    const items = normalizeInputItems(
      [
        { role: 'assistant', content: 'Earlier answer' },
        { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'ok', id: 'fco_client' },
        { type: 'reasoning', summary: [] },
      ],
      counterIds(),
    );
    expect(items).toEqual([
      { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Earlier answer' }] },
      { id: 'fc_2', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}', status: 'completed' },
      { id: 'fco_client', type: 'function_call_output', call_id: 'call_1', output: 'ok', status: 'completed' },
      { id: 'rs_3', type: 'reasoning', summary: [] },
    ]);
  });

  it('returns no items for a request without input', () => {
    expect(normalizeInputItems(null, counterIds())).toEqual([]);
  });
});

describe('paginateInputItems', () => {
  const items: StoredItem[] = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, type: 'message' }));

  it('lists the newest item first with 20 items per page by default', () => {
    expect(paginateInputItems(items, {})).toEqual({ object: 'list', data: [...items].reverse(), first_id: 'e', last_id: 'a', has_more: false });
  });

  it('pages forward with `after` and reports whether more items follow', () => {
    const first = paginateInputItems(items, { order: 'asc', limit: 2 });
    expect(first).toMatchObject({ first_id: 'a', last_id: 'b', has_more: true });
    const second = paginateInputItems(items, { order: 'asc', limit: 2, after: first.last_id ?? '' });
    expect(second).toMatchObject({ first_id: 'c', last_id: 'd', has_more: true });
    const third = paginateInputItems(items, { order: 'asc', limit: 2, after: 'd' });
    expect(third).toMatchObject({ data: [{ id: 'e', type: 'message' }], has_more: false });
  });

  it('answers an empty page with null ids', () => {
    expect(paginateInputItems([], {})).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
  });

  it('refuses an `after` id that is not in the list with a 400 naming `after`', () => {
    expect(() => paginateInputItems(items, { after: 'zzz' })).toThrowError(expect.objectContaining({ status: 400, param: 'after' }));
  });
});

describe('buildConversationItems', () => {
  it('replays each earlier response’s input then output, oldest first, skipping expired ones', () => {
    const turn = (n: number): StoredResponseRecord => ({
      response: { id: `resp_${n}`, status: 'completed', output: [{ id: `out_${n}`, type: 'message' }], instructions: 'not inherited' },
      inputItems: [{ id: `in_${n}`, type: 'message' }],
      ancestorIds: [],
    });
    expect(buildConversationItems([turn(1), null, turn(3)]).map((item) => item.id)).toEqual(['in_1', 'out_1', 'in_3', 'out_3']);
  });
});

describe('createApiKeyHasher', () => {
  it('gives one key the same owner on every replica sharing the secret, and other keys or secrets another', () => {
    const replicaA = createApiKeyHasher('shared-secret-0123456789abcdef0123');
    const replicaB = createApiKeyHasher('shared-secret-0123456789abcdef0123');
    const other = createApiKeyHasher('another-secret-0123456789abcdef012');
    expect(replicaA('sk-1')).toBe(replicaB('sk-1'));
    expect(replicaA('sk-1')).toMatch(/^[0-9a-f]{64}$/);
    expect(replicaA('sk-1')).not.toBe(replicaA('sk-2'));
    expect(replicaA('sk-1')).not.toBe(other('sk-1'));
    expect(replicaA('sk-1')).not.toContain('sk-1');
  });

  it('after a rotation gives the current secret’s owner first, then the previous secret’s (what the store accepts for reading)', () => {
    const before = createApiKeyHasher('old-secret-0123456789abcdef0123456');
    const current = createApiKeyHasher('new-secret-0123456789abcdef0123456');
    const rotated = createApiKeyHasher(['new-secret-0123456789abcdef0123456', 'old-secret-0123456789abcdef0123456']);
    expect(rotated('sk-1')).toBe(`${current('sk-1')},${before('sk-1')}`);
  });
});
