import type { GatewayMetrics } from '@rgw/observability';
import { type ResponseStore, createApiKeyHasher } from '@rgw/response-store';
import type { Response } from '@rgw/responses';
import { type BackgroundRuns, createBackgroundRuns } from './background-runs.ts';
import { instrumentResponseStore } from './instrument-response-store.ts';

/** What the stored-response features need at run time; one per replica, built in start-gateway. */
export interface StoredResponses {
  /** Counted in gateway_response_store_operations_total. */
  readonly store: ResponseStore<Response>;
  /** API key → owner (HMAC-SHA256 under the server secret): the only form a key takes in the store. */
  readonly ownerOf: (apiKey: string) => string;
  readonly runs: BackgroundRuns;
}

export interface CreateStoredResponsesOptions {
  /** The memory store (embedded) or the Redis store (cluster). */
  readonly store: ResponseStore<Response>;
  /** Shared by every replica (REASONING_ENCRYPTION_KEY, a key agreed through Redis, or a random per-process key in embedded mode); current first, then previous keys. */
  readonly ownerSecret: string | readonly string[];
  readonly metrics: GatewayMetrics;
  /** Unix seconds. */
  readonly now: () => number;
  /** How often background runs look for a cancel made on another replica, ms (default 1000). */
  readonly cancelPollMs?: number;
}

export function createStoredResponses(options: CreateStoredResponsesOptions): StoredResponses {
  const store = instrumentResponseStore(options.store, options.metrics);
  return {
    store,
    ownerOf: createApiKeyHasher(options.ownerSecret),
    runs: createBackgroundRuns({ store, now: options.now, ...(options.cancelPollMs === undefined ? {} : { cancelPollMs: options.cancelPollMs }) }),
  };
}
