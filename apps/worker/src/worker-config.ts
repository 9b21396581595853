import { z } from 'zod';
import { ConfigError, describeConfigIssues, readSetVariables } from '@rgw/config';

/** The worker's settings (its own small schema; the gateway's lives in @rgw/config). Parsed once in main.ts. */
export const workerConfigSchema = z.object({
  /** Required: the worker only exists in cluster mode. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }),
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

export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** Words added to a variable's message where the schema alone cannot say enough. */
const WORKER_CONFIG_HINTS: Readonly<Record<string, string>> = {
  REDIS_URL: 'the worker only runs in cluster mode, on the same Redis as the gateways',
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
  return parsed.data;
}
