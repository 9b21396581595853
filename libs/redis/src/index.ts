export { BULLMQ_PREFIX, KEY_PREFIX, LEGACY_KEY_PREFIX } from './key-prefix.ts';
export {
  createRedisClients,
  duplicateForSubscribe,
  isClusterClient,
  isRedisReady,
  lastRedisError,
  type RedisClient,
  type RedisClientOptions,
  type RedisClients,
} from './create-redis-clients.ts';
export { createRequestPathRedis, createSubscriberRedis, type RequestPathRedisOptions } from './create-request-path-redis.ts';
export { classifyRedisError, type RedisProblem } from './classify-redis-error.ts';
export {
  createRedisHealthProbe,
  type MasterHealth,
  type RedisHealth,
  type RedisHealthProbe,
  type RedisHealthProbeOptions,
} from './create-redis-health-probe.ts';
export { defineScripts, loadLuaScript, reply, type LuaScript, type ScriptArgument, type ScriptCall, type ScriptRunner, type ScriptSpec } from './lua-script.ts';
