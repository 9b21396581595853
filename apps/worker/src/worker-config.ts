import { z } from 'zod';
import {
  ConfigError,
  describeConfigIssues,
  parseRedisConnection,
  type RedisConnectionConfig,
  readableFile,
  readSetVariables,
  redisEnvShape,
} from '@rgw/config';

/**
 * The worker's settings (its own small schema; the gateway's lives in @rgw/config), parsed once in
 * main.ts. The Redis variables are the gateway's, from the same fragment: one set of names for both.
 */
export const workerConfigSchema = z.object({
  /** Required, in one of its three modes: the worker only exists in cluster mode. */
  ...redisEnvShape,
  /** Chat Completions base URL including `/v1`; the worker lists `${UPSTREAM_BASE_URL}/models`. */
  UPSTREAM_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://llm.chutes.ai/v1'),
  /** PEM file of extra CAs trusted for the backend's certificate (a private backend), as for the gateway. */
  UPSTREAM_TLS_CA_FILE: readableFile.optional(),
  /** Key used to list models, if the backend needs one (Chutes lists models without a key). */
  UPSTREAM_API_KEY: z.string().min(1).optional(),
  /** Refresh period, s; must match the gateways' value (they judge staleness by it). */
  MODELS_REFRESH_SECONDS: z.coerce.number().int().positive().default(60),
  /** /health and /metrics; 0 picks a free port (tests). */
  WORKER_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  WORKER_HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long SIGTERM waits for a running refresh before forcing the worker closed, s. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).default(20),
});

export type WorkerConfig = z.infer<typeof workerConfigSchema> & {
  /** Where Redis is: the one mode the REDIS_* variables describe. */
  readonly redis: RedisConnectionConfig;
};

/** Words added to a variable's message where the schema alone cannot say enough. */
const WORKER_CONFIG_HINTS: Readonly<Record<string, string>> = {
  REDIS_URL: 'the worker only runs in cluster mode, on the same Redis as the gateways; or REDIS_CLUSTER_NODES, or REDIS_SENTINELS',
  UPSTREAM_BASE_URL: "the backend's OpenAI-compatible base URL, usually ending in /v1, e.g. https://llm.chutes.ai/v1",
};

/**
 * Parse the environment; throws a ConfigError with one line per bad variable, naming it and what it
 * must be. Empty or whitespace-only values count as unset, as for the gateway.
 */
export function loadWorkerConfig(env: Readonly<Record<string, string | undefined>>): WorkerConfig {
  const present = readSetVariables(env);
  const parsed = workerConfigSchema.safeParse(present);
  if (!parsed.success) {
    const lines = describeConfigIssues(workerConfigSchema, parsed.error.issues, present, WORKER_CONFIG_HINTS);
    throw new ConfigError(lines.map((line) => `Invalid worker configuration: ${line}`).join('\n'));
  }
  const { config, problems } = parseRedisConnection(parsed.data);
  if (config === null && problems.length === 0) {
    problems.push(
      'REDIS_URL is required: a redis:// or rediss:// URL (the worker only runs in cluster mode, on the same Redis as the gateways; or REDIS_CLUSTER_NODES for a Redis Cluster, or REDIS_SENTINELS with REDIS_SENTINEL_MASTER for Sentinel)',
    );
  }
  if (config === null || problems.length > 0) throw new ConfigError(problems.map((line) => `Invalid worker configuration: ${line}.`).join('\n'));
  return { ...parsed.data, redis: config };
}
