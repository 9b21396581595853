// Per-key sliding-window rate limiting: one interface, an in-process and a Redis-shared implementation.
export type { RateLimitDecision, RateLimiter } from './rate-limiter.ts';
export { decideSlidingWindow, type SlidingWindowInput } from './decide-sliding-window.ts';
export { createMemoryRateLimiter, type MemoryRateLimiterOptions } from './create-memory-rate-limiter.ts';
export { createRedisRateLimiter, type RedisRateLimiter, type RedisRateLimiterOptions } from './create-redis-rate-limiter.ts';
export { hashRateLimitKey } from './hash-rate-limit-key.ts';
