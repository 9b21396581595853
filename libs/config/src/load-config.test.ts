import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.ts';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8282);
    expect(config.UPSTREAM_BASE_URL).toBe('https://llm.chutes.ai/v1');
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.MODELS_REFRESH_SECONDS).toBe(60);
    expect(config.CIRCUIT_BREAKER_FAILURE_THRESHOLD).toBe(5);
    expect(config.CIRCUIT_BREAKER_OPEN_SECONDS).toBe(30);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ REDIS_URL: '' }).REDIS_URL).toBeUndefined();
  });

  it('coerces numbers and booleans from strings', () => {
    const config = loadConfig({ PORT: '9000', METRICS_ENABLED: 'false' });
    expect(config.PORT).toBe(9000);
    expect(config.METRICS_ENABLED).toBe(false);
  });

  it('names every bad variable in one readable error', () => {
    expect(() => loadConfig({ PORT: 'eighty', REDIS_URL: 'http://x', METRICS_ENABLED: 'maybe' })).toThrowError(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', REDIS_URL: 'http://x' });
    } catch (error) {
      expect(String(error)).toMatch(/PORT/);
      expect(String(error)).toMatch(/REDIS_URL/);
    }
  });

  it('rejects a headers timeout longer than the request timeout', () => {
    expect(() => loadConfig({ SERVER_HEADERS_TIMEOUT_MS: '5000', SERVER_REQUEST_TIMEOUT_MS: '1000' })).toThrowError(/SERVER_HEADERS_TIMEOUT_MS/);
  });

  it('reads BACKEND_PROFILES as a JSON array of per-model rules, empty by default', () => {
    expect(loadConfig({}).BACKEND_PROFILES).toEqual([]);
    const rules = '[{"models":"Qwen/Qwen3-*","backend":"sglang","thinkingSwitch":"enable_thinking"},{"models":"*","inlineThinkTags":false}]';
    expect(loadConfig({ BACKEND_PROFILES: rules }).BACKEND_PROFILES).toEqual([
      { models: 'Qwen/Qwen3-*', backend: 'sglang', thinkingSwitch: 'enable_thinking' },
      { models: '*', inlineThinkTags: false },
    ]);
  });

  it.each([
    ['not JSON', '{models: x}', /BACKEND_PROFILES: expected a JSON array/],
    ['an unknown backend', '[{"models":"*","backend":"tgi"}]', /BACKEND_PROFILES\[0\]\.backend/],
    ['a misspelt key', '[{"models":"*","thinking_switch":"thinking"}]', /BACKEND_PROFILES\[0\].*thinking_switch/],
    ['a rule without models', '[{"backend":"vllm"}]', /BACKEND_PROFILES\[0\]\.models/],
  ])('refuses BACKEND_PROFILES with %s, naming where', (_case, value, message) => {
    expect(() => loadConfig({ BACKEND_PROFILES: value })).toThrowError(message);
  });
});
