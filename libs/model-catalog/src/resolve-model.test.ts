import { describe, expect, it } from 'vitest';
import type { ModelEntry } from './model-catalog.ts';
import { indexModels, resolveModel } from './resolve-model.ts';

function model(id: string): ModelEntry {
  return { id, object: 'model', created: 0, owned_by: 'test' };
}

const index = indexModels(['deepseek-ai/DeepSeek-V3', 'deepseek-ai/DeepSeek-R1', 'Qwen/Qwen3-235B-A22B', 'unsloth/gemma-3-27b-it'].map(model));

describe('resolveModel', () => {
  it('finds an exact id', () => {
    expect(resolveModel(index, 'deepseek-ai/DeepSeek-R1')).toEqual({ kind: 'found', id: 'deepseek-ai/DeepSeek-R1' });
  });

  it('finds an id spelled in another case and returns the backend spelling', () => {
    expect(resolveModel(index, 'qwen/qwen3-235b-a22b')).toEqual({ kind: 'found', id: 'Qwen/Qwen3-235B-A22B' });
  });

  it('suggests ids containing the requested name when the org prefix is missing', () => {
    const resolution = resolveModel(index, 'DeepSeek-R1');
    expect(resolution).toMatchObject({ kind: 'unknown' });
    expect(resolution.kind === 'unknown' && resolution.suggestions[0]).toBe('deepseek-ai/DeepSeek-R1');
  });

  it('suggests ids within a small edit distance of a typo', () => {
    const resolution = resolveModel(index, 'deepseek-ai/DeepSeek-V4');
    expect(resolution.kind === 'unknown' && resolution.suggestions).toContain('deepseek-ai/DeepSeek-V3');
  });

  it('suggests nothing for a name unlike any model', () => {
    expect(resolveModel(index, 'gpt-4o')).toEqual({ kind: 'unknown', suggestions: [] });
  });

  it('answers unchecked when no list is available', () => {
    expect(resolveModel(null, 'anything')).toEqual({ kind: 'unchecked' });
  });
});
