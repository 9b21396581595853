import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { parseModelList } from './model-list-schema.ts';

describe('parseModelList', () => {
  it('keeps every field the backend sent', () => {
    const models = parseModelList({
      object: 'list',
      data: [{ id: 'm', object: 'model', created: 1, owned_by: 'chutes', pricing: { prompt: 0.1 }, max_model_len: 32768 }],
    });
    expect(models).toEqual([{ id: 'm', object: 'model', created: 1, owned_by: 'chutes', pricing: { prompt: 0.1 }, max_model_len: 32768 }]);
  });

  it('fills neutral defaults for backends that omit created and owned_by', () => {
    expect(parseModelList({ data: [{ id: 'llama3' }] })).toEqual([{ id: 'llama3', object: 'model', created: 0, owned_by: 'system' }]);
  });

  it('skips malformed and duplicate entries but keeps the rest', () => {
    expect(parseModelList({ data: [{ id: 'a' }, { name: 'no id' }, 7, { id: 'a' }, { id: 'b' }] }).map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('rejects a body that is not a model list', () => {
    expect(() => parseModelList({ error: 'nope' })).toThrow(ZodError);
  });
});
