import type { Logger } from 'pino';
import type { RateLimiter } from '@rgw/rate-limit';
import type { RouteDependencies } from './routes/route-dependencies.ts';

/** Everything the HTTP layer needs, injected by start-gateway.ts (and by tests). */
export interface GatewayDependencies extends RouteDependencies {
  readonly logger: Logger;
  readonly mode: 'embedded' | 'cluster';
  /** Whether this replica should receive traffic, with details for /ready. */
  readonly readiness: () => { ready: boolean; detail: Record<string, unknown> };
  /** Per-key request limit (cluster: the Redis limiter). Unset: an in-memory one when RATE_LIMIT_REQUESTS_PER_MINUTE > 0. */
  readonly rateLimiter?: RateLimiter;
}
