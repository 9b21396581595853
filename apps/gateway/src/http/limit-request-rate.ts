import type { RequestHandler } from 'express';
import { RateLimitError } from '@rgw/errors';
import { hashRateLimitKey, type RateLimiter } from '@rgw/rate-limit';

/**
 * Per-key request limit; runs after `authenticate()`. Answers 429 `rate_limit_exceeded` with the
 * headers OpenAI's API sends (`retry-after` and `retry-after-ms` are what the openai SDKs wait on),
 * and reports the budget on allowed requests too. The limiter sees only the key's SHA-256.
 */
export function limitRequestRate(limiter: RateLimiter): RequestHandler {
  return async (req, res, next) => {
    const decision = await limiter.consume(hashRateLimitKey(res.locals.apiKey));
    res.setHeader('x-ratelimit-limit-requests', String(decision.limit));
    res.setHeader('x-ratelimit-remaining-requests', String(decision.remaining));
    res.setHeader('x-ratelimit-reset-requests', formatDuration(decision.allowed ? decision.resetMs : decision.retryAfterMs));
    if (decision.allowed) {
      next();
      return;
    }
    // Drain the body so the client reads the 429 instead of a reset.
    req.resume();
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new RateLimitError(`Rate limit reached: ${decision.limit} requests per minute for this API key. Retry in ${seconds}s.`, {
      code: 'rate_limit_exceeded',
      headers: { 'retry-after': String(seconds), 'retry-after-ms': String(decision.retryAfterMs) },
    });
  };
}

/** OpenAI's duration format: `20ms`, `1.5s`, `6m0s`. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds < 1000) return `${Math.max(0, Math.round(milliseconds))}ms`;
  const minutes = Math.floor(milliseconds / 60_000);
  const seconds = Math.round((milliseconds % 60_000) / 100) / 10;
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}
