import { z } from 'zod';
import { ConfigError, parseRedisConnection, type RedisConnectionConfig, redisEnvShape } from '@rgw/config';

/**
 * The worker's settings (its own small schema; the gateway's lives in @rgw/config), parsed once in
 * main.ts. The Redis variables are the gateway's, from the same fragment: one set of names for both.
 */
export const workerConfigSchema = z.object({
  /** Required, in one of its three modes: the worker only exists in cluster mode. */
  ...redisEnvShape,
  /** Chat Completions base URL including `/v1`; the worker lists `${UPSTREAM_BASE_URL}/models`. */
  UPSTREAM_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://llm.chutes.ai/v1'),
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

/** Parse the environment; throws one ConfigError naming every bad variable. Empty strings count as unset. */
export function loadWorkerConfig(env: Readonly<Record<string, string | undefined>>): WorkerConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = workerConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid worker configuration:\n${lines.join('\n')}`);
  }
  const { config, problems } = parseRedisConnection(parsed.data);
  if (config === null && problems.length === 0) problems.push('the worker needs Redis: set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS');
  if (config === null || problems.length > 0) throw new ConfigError(`Invalid worker configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  return { ...parsed.data, redis: config };
}
