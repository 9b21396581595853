/** The verdict on one request (or `cost` units) for one key. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Milliseconds until `cost` more would be allowed; 0 when allowed. */
  readonly retryAfterMs: number;
  /** Requests (units) left in the window after this one, never negative. */
  readonly remaining: number;
  /** Requests (units) per window. */
  readonly limit: number;
  /** Milliseconds until the key's usage has fully decayed (OpenAI's `x-ratelimit-reset-requests`). */
  readonly resetMs: number;
}

/**
 * A per-key limit over a sliding window. `keyHash` is a hash of the API key (`hashRateLimitKey`),
 * never the key: limiter state lives in Redis and in heap dumps.
 */
export interface RateLimiter {
  /** Counts `cost` (default 1) against the key when allowed; a denied call counts nothing. */
  consume(keyHash: string, cost?: number): Promise<RateLimitDecision>;
}
