import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.ts';

/** What `run` threw (undefined when it returned): asserted on outside any `catch`. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The ConfigError `env` is refused with: fails the test when nothing, or something else, is thrown. */
function configErrorFor(env: Record<string, string>): ConfigError {
  const error = thrownBy(() => loadConfig(env));
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

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

  it('treats an empty or whitespace-only variable as unset, and trims the others', () => {
    expect(loadConfig({ REDIS_URL: '' }).REDIS_URL).toBeUndefined();
    expect(loadConfig({ REDIS_URL: '  \t' }).REDIS_URL).toBeUndefined();
    // Not 0 (a random port): blank is unset, so the default.
    expect(loadConfig({ PORT: ' ' }).PORT).toBe(8282);
    expect(loadConfig({ PORT: ' 9000 ', UPSTREAM_BASE_URL: ' http://localhost:11434/v1 ' })).toMatchObject({
      PORT: 9000,
      UPSTREAM_BASE_URL: 'http://localhost:11434/v1',
    });
  });

  it('coerces numbers and booleans from strings', () => {
    const config = loadConfig({ PORT: '9000', METRICS_ENABLED: 'false' });
    expect(config.PORT).toBe(9000);
    expect(config.METRICS_ENABLED).toBe(false);
  });

  it('names every bad variable, one line each, saying what it must be (never echoing a value)', () => {
    const { message } = configErrorFor({
      PORT: 'eighty',
      REDIS_URL: 'http://user:hunter2@x',
      METRICS_ENABLED: 'maybe',
      UPSTREAM_BASE_URL: 'ftp://x',
      LOG_LEVEL: 'loud',
    });
    expect(message.split('\n')).toEqual([
      'Invalid configuration: PORT must be an integer from 0 to 65535; the default, when unset, is 8282.',
      "Invalid configuration: UPSTREAM_BASE_URL must be an http:// or https:// URL (the backend's OpenAI-compatible base URL, usually ending in /v1, e.g. https://llm.chutes.ai/v1); the default, when unset, is https://llm.chutes.ai/v1.",
      'Invalid configuration: REDIS_URL must be a redis:// or rediss:// URL (or unset, for embedded mode).',
      'Invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; the default, when unset, is info.',
      'Invalid configuration: METRICS_ENABLED must be one of 0, 1, true, false, yes, no.',
    ]);
    expect(message).not.toContain('hunter2');
  });

  it('says what a positive count and a minimum length mean', () => {
    expect(() => loadConfig({ MODELS_REFRESH_SECONDS: '0' })).toThrowError(
      'Invalid configuration: MODELS_REFRESH_SECONDS must be a whole number above 0; the default, when unset, is 60.',
    );
    expect(() => loadConfig({ REASONING_ENCRYPTION_KEY: 'short' })).toThrowError(
      'Invalid configuration: REASONING_ENCRYPTION_KEY must be at least 32 characters.',
    );
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

  it("defaults WebSocket mode on with OpenAI's 60-minute limit, and takes fractions of seconds for its timers", () => {
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({
      WEBSOCKET_ENABLED: true,
      WEBSOCKET_MAX_CONNECTION_SECONDS: 3600,
      WEBSOCKET_IDLE_TIMEOUT_SECONDS: 900,
      WEBSOCKET_KEEPALIVE_SECONDS: 15,
      WEBSOCKET_MAX_FRAME_BYTES: 20 * 1024 * 1024,
      WEBSOCKET_CACHE_MAX_RESPONSES: 8,
    });
    expect(loadConfig({ WEBSOCKET_ENABLED: 'false', WEBSOCKET_KEEPALIVE_SECONDS: '0.2' })).toMatchObject({
      WEBSOCKET_ENABLED: false,
      WEBSOCKET_KEEPALIVE_SECONDS: 0.2,
    });
    expect(() => loadConfig({ WEBSOCKET_IDLE_TIMEOUT_SECONDS: '0' })).toThrowError(/WEBSOCKET_IDLE_TIMEOUT_SECONDS/);
    expect(() => loadConfig({ WEBSOCKET_CACHE_MAX_RESPONSES: '1.5' })).toThrowError(/WEBSOCKET_CACHE_MAX_RESPONSES/);
  });
});

describe('loadConfig: Redis', () => {
  const caFile = new URL('../package.json', import.meta.url).pathname; // any readable file stands for a PEM file here

  it('parses each mode into one description: single, Cluster, Sentinel', () => {
    expect(loadConfig({}).redis).toBeNull();
    expect(loadConfig({ REDIS_URL: 'redis://:pw@cache:6380/2' }).redis).toEqual({ mode: 'single', url: 'redis://:pw@cache:6380/2', tls: null });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000, b:7001,[::1]:7002,c', REDIS_PASSWORD: 'pw' }).redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
        { host: '::1', port: 7002 },
        { host: 'c', port: 6379 },
      ],
      password: 'pw',
      tls: null,
    });
    expect(loadConfig({ REDIS_SENTINELS: 's1,s2:26380', REDIS_SENTINEL_MASTER: 'mymaster', REDIS_SENTINEL_PASSWORD: 'spw' }).redis).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      masterName: 'mymaster',
      sentinelPassword: 'spw',
      tls: null,
    });
  });

  it('takes TLS from the rediss:// scheme, or REDIS_TLS for Cluster and Sentinel, with the CA and client certificate files', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://cache:6380', REDIS_TLS_CA_FILE: caFile }).redis).toMatchObject({ mode: 'single', tls: { caFile } });
    expect(
      loadConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_TLS: 'true', REDIS_TLS_CA_FILE: caFile, REDIS_TLS_CERT_FILE: caFile, REDIS_TLS_KEY_FILE: caFile })
        .redis,
    ).toMatchObject({ mode: 'cluster', tls: { caFile, certFile: caFile, keyFile: caFile } });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_TLS: 'true' }).redis).toMatchObject({ tls: {} });
  });

  it('refuses two modes at once, naming both variables', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://a', REDIS_CLUSTER_NODES: 'b:7000' })).toThrowError(/REDIS_URL and REDIS_CLUSTER_NODES are both set/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'b:7000', REDIS_SENTINELS: 's', REDIS_SENTINEL_MASTER: 'm' })).toThrowError(
      /REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set/,
    );
  });

  it('refuses contradictions and half-set modes, naming the variables', () => {
    const message = (env: Record<string, string>) => configErrorFor(env).message;
    expect(message({ REDIS_SENTINELS: 's1' })).toMatch(/REDIS_SENTINELS is set without REDIS_SENTINEL_MASTER/);
    expect(message({ REDIS_SENTINEL_MASTER: 'm' })).toMatch(/REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS/);
    expect(message({ REDIS_URL: 'redis://a', REDIS_TLS: 'true' })).toMatch(/REDIS_TLS=true contradicts REDIS_URL/);
    expect(message({ REDIS_URL: 'redis://a', REDIS_TLS_CA_FILE: caFile })).toMatch(
      /REDIS_TLS_CA_FILE set but REDIS_URL does not use TLS: use a rediss:\/\/ REDIS_URL/,
    );
    expect(message({ REDIS_CLUSTER_NODES: 'a', REDIS_TLS_CA_FILE: caFile })).toMatch(
      /REDIS_TLS_CA_FILE set but REDIS_CLUSTER_NODES does not use TLS: set REDIS_TLS=true/,
    );
    expect(message({ REDIS_URL: 'rediss://a', REDIS_TLS_CERT_FILE: caFile })).toMatch(/REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together/);
    expect(message({ REDIS_URL: 'redis://:pw@a', REDIS_PASSWORD: 'other' })).toMatch(/REDIS_URL carries credentials and REDIS_USERNAME\/REDIS_PASSWORD/);
    expect(message({ REDIS_PASSWORD: 'pw' })).toMatch(/REDIS_PASSWORD set but no Redis is/);
    expect(message({ REDIS_CLUSTER_NODES: 'a:99999' })).toMatch(/REDIS_CLUSTER_NODES: 'a:99999' is not host:port/);
    expect(message({ REDIS_URL: 'rediss://a', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' })).toMatch(/REDIS_TLS_CA_FILE: is not a readable file/);
  });

  it('accepts previous reasoning keys only next to a current one', () => {
    const key = 'k'.repeat(32);
    expect(
      loadConfig({ REASONING_ENCRYPTION_KEY: key, REASONING_ENCRYPTION_PREVIOUS_KEYS: `${'a'.repeat(32)}, ${'b'.repeat(40)}` })
        .REASONING_ENCRYPTION_PREVIOUS_KEYS,
    ).toEqual(['a'.repeat(32), 'b'.repeat(40)]);
    expect(() => loadConfig({ REASONING_ENCRYPTION_PREVIOUS_KEYS: 'a'.repeat(32) })).toThrowError(/without REASONING_ENCRYPTION_KEY/);
    expect(() => loadConfig({ REASONING_ENCRYPTION_KEY: key, REASONING_ENCRYPTION_PREVIOUS_KEYS: 'short' })).toThrowError(/at least 32 characters/);
  });
});

describe('loadConfig: HTTP/2 and a private CA for the backend', () => {
  it('speaks HTTP/1.1 to the backend unless UPSTREAM_HTTP2 is on', () => {
    expect(loadConfig({}).UPSTREAM_HTTP2).toBe(false);
    expect(loadConfig({ UPSTREAM_HTTP2: 'true' }).UPSTREAM_HTTP2).toBe(true);
    expect(loadConfig({ UPSTREAM_HTTP2: '0' }).UPSTREAM_HTTP2).toBe(false);
    expect(configErrorFor({ UPSTREAM_HTTP2: 'h2' }).message).toMatch(/UPSTREAM_HTTP2/);
  });

  it('refuses UPSTREAM_HTTP2 for a cleartext backend: h2 is negotiated by TLS ALPN', () => {
    expect(configErrorFor({ UPSTREAM_HTTP2: 'true', UPSTREAM_BASE_URL: 'http://vllm:8000/v1' }).message).toMatch(
      /UPSTREAM_HTTP2=true needs an https:\/\/ UPSTREAM_BASE_URL/,
    );
  });

  it('names UPSTREAM_TLS_CA_FILE when the file cannot be read, at start', () => {
    expect(configErrorFor({ UPSTREAM_TLS_CA_FILE: '/nonexistent/backend-ca.pem' }).message).toMatch(/UPSTREAM_TLS_CA_FILE.*not a readable file/);
  });
});
