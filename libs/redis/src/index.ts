export { BULLMQ_PREFIX, KEY_PREFIX } from './key-prefix.ts';
export {
  createRequestPathRedis,
  createSubscriberRedis,
  isRedisReady,
  requestPathRedisOptions,
  type RequestPathRedisOptions,
} from './create-request-path-redis.ts';
export { defineScripts, loadLuaScript, type LuaScript, type ScriptArgument, type ScriptRunner } from './lua-script.ts';
