import type { Logger } from 'pino';
import type { CircuitBreaker } from '@rgw/breaker';
import type { GatewayConfig } from '@rgw/config';
import type { ModelCatalog } from '@rgw/model-catalog';
import type { GatewayMetrics } from '@rgw/observability';
import type { RateLimiter } from '@rgw/rate-limit';
import type { UpstreamClient } from '@rgw/upstream';
import type { StoredResponses } from './stored/stored-responses.ts';

/** Everything the HTTP layer needs, injected by main.ts (and by tests). */
export interface GatewayDependencies {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly upstream: UpstreamClient;
  /** Names the backend in breaker scopes and logs (its host). */
  readonly upstreamName: string;
  readonly breaker: CircuitBreaker;
  readonly catalog: ModelCatalog;
  readonly mode: 'embedded' | 'cluster';
  /** Whether this replica should receive traffic, with details for /ready. */
  readonly readiness: () => { ready: boolean; detail: Record<string, unknown> };
  readonly createId: (prefix: string) => string;
  /** Unix seconds. */
  readonly now: () => number;
  readonly sealReasoning?: (text: string) => string;
  readonly unsealReasoning?: (blob: string) => string | null;
  /** Per-key request limit (cluster: the Redis limiter). Unset: an in-memory one when RATE_LIMIT_REQUESTS_PER_MINUTE > 0. */
  readonly rateLimiter?: RateLimiter;
  /** Stored responses (store, owners, background runs). Unset: stateless (chaining is a 400). */
  readonly stored?: StoredResponses;
}
