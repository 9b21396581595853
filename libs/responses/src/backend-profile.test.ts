import { describe, expect, it } from 'vitest';
import { detectBackend, mapReasoningEffort, matchesModelPattern, resolveBackendProfile } from './backend-profile.ts';

// `/v1/models` entries as each server builds them.
// vLLM: ModelCard (vllm-project/vllm vllm/entrypoints/openai/engine/protocol.py): owned_by "vllm", root, parent, max_model_len, permission.
const vllmEntry = {
  id: 'Qwen/Qwen3-32B',
  object: 'model',
  created: 1752032478,
  owned_by: 'vllm',
  root: 'Qwen/Qwen3-32B',
  parent: null,
  max_model_len: 40960,
  permission: [],
};
// SGLang: ModelCard (sgl-project/sglang python/sglang/srt/entrypoints/openai/protocol.py): owned_by "sglang", root, parent, max_model_len.
const sglangEntry = {
  id: 'Qwen/Qwen2.5-7B-Instruct',
  object: 'model',
  created: 1775366128,
  owned_by: 'sglang',
  root: 'Qwen/Qwen2.5-7B-Instruct',
  parent: null,
  max_model_len: 32768,
};
// Ollama: middleware/openai_test.go TestListMiddleware (ollama/ollama).
const ollamaEntry = { id: 'test-model', object: 'model', created: 1686935002, owned_by: 'library' };
// Chutes: the instance's card plus `price` and OpenRouter-style `pricing` (chutesai/chutes-api api/chute/util.py get_and_store_llm_details).
const chutesEntry = {
  ...sglangEntry,
  id: 'deepseek-ai/DeepSeek-V3.1',
  root: 'deepseek-ai/DeepSeek-V3.1',
  price: { input: { usd: 0.2 }, output: { usd: 0.8 } },
  pricing: { prompt: 0.2, completion: 0.8 },
};

describe('detectBackend', () => {
  it.each([
    ['vllm', vllmEntry],
    ['sglang', sglangEntry],
    ['ollama', ollamaEntry],
    ['chutes', chutesEntry],
    ['chutes', { ...vllmEntry, chute_id: '00000000-0000-5000-8000-000000000000' }],
    ['generic', { id: 'deepseek-chat', object: 'model', created: 0, owned_by: 'deepseek' }],
    ['generic', undefined],
  ] as const)('says %s for %o', (backend, entry) => {
    expect(detectBackend(entry)).toBe(backend);
  });
});

describe('resolveBackendProfile', () => {
  it('switches thinking through the chat template for Qwen3 on vLLM, SGLang and Chutes, never on Ollama or an unknown server', () => {
    expect(resolveBackendProfile({ model: vllmEntry.id, entry: vllmEntry })).toMatchObject({ name: 'vllm/qwen3', thinkingSwitch: 'enable_thinking' });
    expect(resolveBackendProfile({ model: 'Qwen/Qwen3-32B', entry: { ...sglangEntry, id: 'Qwen/Qwen3-32B' } }).thinkingSwitch).toBe('enable_thinking');
    expect(resolveBackendProfile({ model: 'qwen3:8b', entry: { ...ollamaEntry, id: 'qwen3:8b' } })).toMatchObject({
      name: 'ollama/qwen3',
      thinkingSwitch: null,
    });
    expect(resolveBackendProfile({ model: 'Qwen/Qwen3-32B' }).thinkingSwitch).toBeNull();
  });

  it('uses `thinking` and replays reasoning on tool calls for DeepSeek V3.1 on Chutes', () => {
    expect(resolveBackendProfile({ model: chutesEntry.id, entry: chutesEntry })).toMatchObject({
      name: 'chutes/deepseek-v3.1',
      thinkingSwitch: 'thinking',
      reasoningOnToolCalls: true,
      reasoningReplayFields: ['reasoning_content', 'reasoning'],
    });
  });

  it("recognises the family from the entry's root when the served name hides it", () => {
    expect(resolveBackendProfile({ model: 'my-alias', entry: { ...vllmEntry, id: 'my-alias', root: 'zai-org/GLM-4.6' } }).name).toBe('vllm/glm');
  });

  it('replays reasoning where each server reads it', () => {
    expect(resolveBackendProfile({ model: 'm', entry: ollamaEntry }).reasoningReplayFields).toEqual(['reasoning']);
    expect(resolveBackendProfile({ model: 'm', entry: vllmEntry }).reasoningReplayFields).toEqual(['reasoning', 'reasoning_content']);
    expect(resolveBackendProfile({ model: 'm', entry: sglangEntry }).reasoningReplayFields).toEqual(['reasoning_content']);
  });

  it('applies every matching override in order, a later one winning, and a `backend` override changes the defaults', () => {
    const profile = resolveBackendProfile({
      model: 'Qwen/Qwen3-32B',
      entry: sglangEntry,
      overrides: [
        { models: '*', inlineThinkTags: false },
        { models: 'qwen/qwen3-*', backend: 'ollama', reasoningOnToolCalls: true },
        { models: 'Qwen/Qwen3-32B', inlineThinkTags: true },
        { models: 'Llama-*', reasoningEfforts: 'as-sent' },
      ],
    });
    expect(profile).toEqual({
      name: 'ollama/qwen3',
      reasoningEfforts: ['none', 'low', 'medium', 'high'],
      thinkingSwitch: null,
      reasoningReplayFields: ['reasoning'],
      reasoningOnToolCalls: true,
      inlineThinkTags: true,
    });
  });

  it('lets an override set the switch on a server that was not detected', () => {
    const profile = resolveBackendProfile({
      model: 'local/house-model',
      overrides: [{ models: 'local/*', backend: 'vllm', thinkingSwitch: 'enable_thinking' }],
    });
    expect(profile).toMatchObject({ name: 'vllm', thinkingSwitch: 'enable_thinking' });
  });
});

describe('matchesModelPattern', () => {
  it('matches `*` as any run of characters, everything else literally and case-insensitively', () => {
    expect(matchesModelPattern('Qwen/Qwen3-*', 'qwen/qwen3-32b')).toBe(true);
    expect(matchesModelPattern('Qwen/Qwen3-*', 'Qwen/Qwen2.5-7B')).toBe(false);
    expect(matchesModelPattern('qwen2.5:7b', 'qwen2x5:7b')).toBe(false);
    expect(matchesModelPattern('*', 'anything')).toBe(true);
  });
});

describe('mapReasoningEffort', () => {
  const vllm = resolveBackendProfile({ model: 'm', entry: vllmEntry });
  const sglangQwen3 = resolveBackendProfile({ model: 'Qwen/Qwen3-32B', entry: sglangEntry });

  it('passes a level the server accepts as it is, and everything on an unknown server', () => {
    expect(mapReasoningEffort(vllm, 'none')).toEqual({ effort: 'none', warning: null });
    expect(mapReasoningEffort(resolveBackendProfile({ model: 'm' }), 'xhigh')).toEqual({ effort: 'xhigh', warning: null });
  });

  it('sends the nearest accepted level, rounding down, and says so', () => {
    const mapped = mapReasoningEffort(vllm, 'xhigh');
    expect(mapped.effort).toBe('high');
    expect(mapped.warning).toContain("'xhigh' sent as 'high'");
    expect(mapReasoningEffort(vllm, 'max').effort).toBe('high');
    expect(mapReasoningEffort(vllm, 'minimal').effort).toBe('low');
  });

  it('sends no effort for `none` where the server lacks it, pointing at the template switch', () => {
    const mapped = mapReasoningEffort(sglangQwen3, 'none');
    expect(mapped.effort).toBeUndefined();
    expect(mapped.warning).toContain('chat_template_kwargs.enable_thinking');
  });

  it('drops an effort that is on no ladder rather than have the server refuse the request', () => {
    const mapped = mapReasoningEffort(vllm, 'turbo');
    expect(mapped.effort).toBeUndefined();
    expect(mapped.warning).toContain("Ignored 'reasoning.effort' 'turbo'");
  });
});
