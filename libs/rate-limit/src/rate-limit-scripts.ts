import { loadLuaScript } from '@rgw/redis';

/** The limiter's Lua script, read once at import; the file's header states KEYS, ARGV and replies. */
export const rateLimitScripts = {
  consume: loadLuaScript(new URL('./lua/rate-limit-1.lua', import.meta.url)),
};
