export { BULLMQ_PREFIX, KEY_PREFIX, LEGACY_KEY_PREFIX } from './key-prefix.ts';
export {
  connectionOf,
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
  awaitFirstVerdict,
  createRedisHealthProbe,
  type MasterHealth,
  type RedisHealth,
  type RedisHealthProbe,
  type RedisHealthProbeOptions,
} from './create-redis-health-probe.ts';
export {
  defineScripts,
  loadLuaScript,
  queueScript,
  reply,
  type LuaScript,
  type ScriptArgument,
  type ScriptCall,
  type ScriptRunner,
  type ScriptSpec,
} from './lua-script.ts';
export { agreeOnSharedSecret, SHARED_SECRET_KEY, type AgreeOnSharedSecretOptions } from './agree-on-shared-secret.ts';
