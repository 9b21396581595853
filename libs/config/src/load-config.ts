import { z } from 'zod';
import { describeConfigIssues } from './describe-config-issues.ts';
import { readSetVariables } from './read-set-variables.ts';
import { booleanFromEnv, parseRedisConnection, type RedisConnectionConfig, readableFile, redisEnvShape } from './redis-config.ts';

const positiveInt = () => z.coerce.number().int().positive();
/** Seconds, fractions allowed (tests run the WebSocket timers in tenths of a second). */
const positiveSeconds = () => z.coerce.number().positive().finite();

const effortLevel = z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']);

/**
 * One BACKEND_PROFILES rule: which models (`*` = any run of characters, case-insensitive) and what to
 * change of their detected backend profile (docs/translation.md "Backend profiles"). Unknown keys are
 * refused so a typo is a start-up error, not a silently ignored rule.
 */
const backendProfileOverrideSchema = z.strictObject({
  models: z.string().min(1),
  backend: z.enum(['generic', 'vllm', 'sglang', 'ollama', 'chutes']).optional(),
  reasoningEfforts: z.union([z.literal('as-sent'), z.array(effortLevel).min(1)]).optional(),
  thinkingSwitch: z.enum(['enable_thinking', 'thinking']).nullable().optional(),
  reasoningReplayFields: z.array(z.enum(['reasoning_content', 'reasoning'])).optional(),
  reasoningOnToolCalls: z.boolean().optional(),
  inlineThinkTags: z.boolean().optional(),
});

const backendProfilesFromEnv = z
  .string()
  .transform((text, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      context.addIssue({ code: 'custom', message: 'expected a JSON array of rules like [{"models":"Qwen/Qwen3-*","backend":"sglang"}]' });
      return z.NEVER;
    }
  })
  .pipe(z.array(backendProfileOverrideSchema));

/**
 * The gateway's settings, parsed once at start. These env names are a public contract: operators
 * and scripts use them, so rename nothing without a deprecation path.
 */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8282),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Chat Completions base URL, including the `/v1` segment. */
  UPSTREAM_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://llm.chutes.ai/v1'),
  /** REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (+ TLS and credentials): see redis-config.ts. None: embedded mode. */
  ...redisEnvShape,
  /**
   * A store:true response is acknowledged only once at least one replica of its Redis master has it
   * (`WAIT 1 <this>`), when the master has replicas; past this bound the save fails (503
   * store_unavailable). 0 turns the wait off: a failover may then lose acknowledged responses.
   */
  REDIS_REPLICA_ACK_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  /**
   * true (default): /ready is 503 while Redis commands fail, so load balancers route around a replica
   * that cannot store or share state. false: replicas stay ready on local state during a Redis outage
   * (store:true requests are then refused with 503, everything else is served).
   */
  READINESS_REQUIRES_REDIS: booleanFromEnv.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MODELS_REFRESH_SECONDS: positiveInt().default(60),
  CIRCUIT_BREAKER_FAILURE_THRESHOLD: positiveInt().default(5),
  CIRCUIT_BREAKER_OPEN_SECONDS: positiveInt().default(30),
  /** Request bodies over this are refused with 413 while they are read. 20 MiB fits base64 images. */
  MAX_BODY_BYTES: positiveInt().default(20 * 1024 * 1024),
  /** Items in `input`; a longer list is a 400 naming `input`. */
  MAX_INPUT_ITEMS: positiveInt().default(2000),
  UPSTREAM_CONNECT_TIMEOUT_MS: positiveInt().default(10_000),
  /** Time to the backend's response headers. Reasoning models can think for minutes before the first byte. */
  UPSTREAM_HEADERS_TIMEOUT_MS: positiveInt().default(300_000),
  /** Longest silence between two stream chunks (and for a whole non-streamed body). */
  UPSTREAM_IDLE_TIMEOUT_MS: positiveInt().default(300_000),
  /** Retries of a backend call that failed before any byte reached our client (connection errors, 502/503/504). */
  UPSTREAM_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  /**
   * Longest wait for a client to take the next bytes of a stream (SSE or WebSocket) once our socket
   * buffer is full: past it the turn ends, the backend call is aborted and the client's connection is
   * closed. Without it a client that stops reading holds a backend stream and its buffers until the
   * backend gives up. Far above any network hiccup a reading client has.
   */
  CLIENT_SEND_TIMEOUT_MS: positiveInt().default(30_000),
  /**
   * Turns that call the backend (SSE, JSON, WebSocket, compaction, background runs) this replica runs
   * at once; one more is refused before any backend call with 503 `server_overloaded` and `retry-after`.
   * 0 = no cap.
   */
  MAX_CONCURRENT_STREAMS: z.coerce.number().int().min(0).default(0),
  /**
   * Offer HTTP/2 to the backend by TLS ALPN: a few connections then carry many multiplexed streams.
   * Off by default: vLLM (uvicorn), SGLang and Ollama speak HTTP/1.1 only; Chutes' CDN speaks h2.
   */
  UPSTREAM_HTTP2: booleanFromEnv.default(false),
  /** PEM file of extra CAs trusted for the backend's certificate (a private backend), read once at start. */
  UPSTREAM_TLS_CA_FILE: readableFile.optional(),
  /** On SIGTERM: how long in-flight streams may run before the process exits anyway. */
  SHUTDOWN_GRACE_SECONDS: positiveInt().default(30),
  RESPONSES_TTL_SECONDS: positiveInt().default(30 * 24 * 3600),
  /** Embedded mode: the in-memory response store keeps at most this many responses (LRU). */
  RESPONSE_STORE_MAX_ENTRIES: positiveInt().default(10_000),
  /**
   * Key for sealing reasoning into `encrypted_content` (32+ chars; shared by every replica).
   * Unset: a random per-process key, so blobs do not survive a restart (fine for a laptop).
   */
  REASONING_ENCRYPTION_KEY: z.string().min(32).optional(),
  /**
   * Earlier REASONING_ENCRYPTION_KEY values, comma-separated: still accepted for reading (sealed
   * reasoning, compaction items, stored responses' owners) after a rotation; never used to write.
   */
  REASONING_ENCRYPTION_PREVIOUS_KEYS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((key) => key.trim())
        .filter((key) => key !== ''),
    )
    .pipe(z.array(z.string().min(32, 'each previous key must be at least 32 characters')))
    .optional(),
  /** Comma-separated browser origins allowed by CORS. Unset: CORS off (SDKs and CLIs need none). */
  CORS_ORIGINS: z.string().optional(),
  METRICS_ENABLED: booleanFromEnv.default(true),
  /** Per-API-key request limit per minute (0 = off). Shared through Redis in cluster mode. */
  RATE_LIMIT_REQUESTS_PER_MINUTE: z.coerce.number().int().min(0).default(0),
  /**
   * Per-model overrides of the detected backend profile (JSON array, applied in order, a later match
   * winning). Unset: every model gets what its `/v1/models` entry and its id say.
   */
  BACKEND_PROFILES: backendProfilesFromEnv.default([]),
  /** Node server timeouts against slowloris clients (headers, whole request body). */
  SERVER_HEADERS_TIMEOUT_MS: positiveInt().default(20_000),
  SERVER_REQUEST_TIMEOUT_MS: positiveInt().default(60_000),
  /** Above a typical load balancer idle timeout (60 s) so the LB closes first. */
  SERVER_KEEP_ALIVE_TIMEOUT_MS: positiveInt().default(65_000),
  /**
   * WebSocket mode on `GET /v1/responses` (docs/websocket-mode.md). Off: upgrades are answered
   * `426 Upgrade Required`, which makes Codex fall back to HTTP at once (a 404 costs it retries).
   */
  WEBSOCKET_ENABLED: booleanFromEnv.default(true),
  /** A connection's lifetime; then `websocket_connection_limit_reached` and a close (OpenAI's limit: 60 min). */
  WEBSOCKET_MAX_CONNECTION_SECONDS: positiveSeconds().default(3600),
  /** A connection with no response running and no client frame for this long is closed (1000). */
  WEBSOCKET_IDLE_TIMEOUT_SECONDS: positiveSeconds().default(900),
  /**
   * Largest client frame, bytes (default 20 MiB, as MAX_BODY_BYTES: a frame carries a create body).
   * A bigger one closes the connection with 1009, as RFC 6455 has it.
   */
  WEBSOCKET_MAX_FRAME_BYTES: positiveInt().default(20 * 1024 * 1024),
  /**
   * Responses a connection keeps for `previous_response_id` (store:false lives only there), least
   * recently used first out. Each holds its whole conversation, so continuing never needs an older one.
   */
  WEBSOCKET_CACHE_MAX_RESPONSES: positiveInt().default(8),
  /**
   * Ping period, and the longest silence during a response before a `keepalive` event is sent:
   * Codex gives up on a stream after 300 s without a frame, and pings do not count for it.
   */
  WEBSOCKET_KEEPALIVE_SECONDS: positiveSeconds().default(15),
});

export type GatewayConfig = z.infer<typeof configSchema> & {
  /** Where Redis is (the one mode the REDIS_* variables describe), or null: embedded mode. */
  readonly redis: RedisConnectionConfig | null;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Words added to a variable's message: what it is for, where the schema alone cannot say. */
const CONFIG_HINTS: Readonly<Record<string, string>> = {
  UPSTREAM_BASE_URL: "the backend's OpenAI-compatible base URL, usually ending in /v1, e.g. https://llm.chutes.ai/v1",
  REDIS_URL: 'or unset, for embedded mode',
};

/**
 * Parse the environment once at start; throws ConfigError with one line per bad variable, each
 * naming it and what it must be. Empty or whitespace-only values count as unset (readSetVariables).
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  const present = readSetVariables(env);
  const result = configSchema.safeParse(present);
  if (!result.success) {
    const lines = describeConfigIssues(configSchema, result.error.issues, present, CONFIG_HINTS);
    throw new ConfigError(lines.map((line) => `Invalid configuration: ${line}`).join('\n'));
  }
  const problems: string[] = [];
  if (result.data.SERVER_HEADERS_TIMEOUT_MS > result.data.SERVER_REQUEST_TIMEOUT_MS) {
    // Node refuses to start with headersTimeout > requestTimeout (ERR_OUT_OF_RANGE); say it in our words.
    problems.push('SERVER_HEADERS_TIMEOUT_MS must not exceed SERVER_REQUEST_TIMEOUT_MS');
  }
  if (result.data.REASONING_ENCRYPTION_PREVIOUS_KEYS !== undefined && result.data.REASONING_ENCRYPTION_KEY === undefined) {
    problems.push('REASONING_ENCRYPTION_PREVIOUS_KEYS is set without REASONING_ENCRYPTION_KEY: a rotation needs the new key');
  }
  if (result.data.UPSTREAM_HTTP2 && !result.data.UPSTREAM_BASE_URL.startsWith('https:')) {
    // h2 is negotiated in the TLS handshake (ALPN); cleartext h2 (h2c) is not offered.
    problems.push('UPSTREAM_HTTP2=true needs an https:// UPSTREAM_BASE_URL (HTTP/2 is negotiated by TLS ALPN)');
  }
  const redis = parseRedisConnection(result.data);
  problems.push(...redis.problems);
  if (problems.length > 0) throw new ConfigError(problems.map((line) => `Invalid configuration: ${line}.`).join('\n'));
  return { ...result.data, redis: redis.config };
}
