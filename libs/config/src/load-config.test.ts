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
