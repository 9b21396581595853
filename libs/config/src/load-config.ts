import { z } from 'zod';

/** Env booleans: "true"/"1"/"yes" and "false"/"0"/"no"; anything else is a config error, not a silent false. */
const booleanFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((value) => value === 'true' || value === '1' || value === 'yes');

const positiveInt = () => z.coerce.number().int().positive();
/** Seconds, fractions allowed (tests run the WebSocket timers in tenths of a second). */
const positiveSeconds = () => z.coerce.number().positive().finite();

/**
 * The gateway's settings, parsed once at start. These env names are a public contract: operators
 * and scripts use them, so rename nothing without a deprecation path.
 */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8282),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Chat Completions base URL, including the `/v1` segment. */
  UPSTREAM_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://llm.chutes.ai/v1'),
  /** Unset: embedded single-node mode with in-process state. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
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
  /** Comma-separated browser origins allowed by CORS. Unset: CORS off (SDKs and CLIs need none). */
  CORS_ORIGINS: z.string().optional(),
  METRICS_ENABLED: booleanFromEnv.default(true),
  /** Per-API-key request limit per minute (0 = off). Shared through Redis in cluster mode. */
  RATE_LIMIT_REQUESTS_PER_MINUTE: z.coerce.number().int().min(0).default(0),
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

export type GatewayConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parse the environment once at start; throws ConfigError listing every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  // An empty variable means "unset" (compose files and .env templates often leave `REDIS_URL=`).
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = configSchema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  if (result.data.SERVER_HEADERS_TIMEOUT_MS > result.data.SERVER_REQUEST_TIMEOUT_MS) {
    // Node refuses to start with headersTimeout > requestTimeout (ERR_OUT_OF_RANGE); say it in our words.
    throw new ConfigError('Invalid configuration:\n  SERVER_HEADERS_TIMEOUT_MS must not exceed SERVER_REQUEST_TIMEOUT_MS');
  }
  return result.data;
}
