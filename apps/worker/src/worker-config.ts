import { z } from 'zod';

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

/** Parse the environment; throws one readable error naming every bad variable. Empty strings count as unset. */
export function loadWorkerConfig(env: Readonly<Record<string, string | undefined>>): WorkerConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = workerConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid worker configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
