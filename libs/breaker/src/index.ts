export * from './circuit-breaker.ts';
export { breakerScopeFor } from './breaker-scope-for.ts';
export { createMemoryBreaker, type MemoryBreaker } from './create-memory-breaker.ts';
export { createRedisBreaker, type RedisBreakerOptions, type RedisCircuitBreaker } from './create-redis-breaker.ts';
