import { loadLuaScript, reply } from '@rgw/redis';

export interface ConsumeReply {
  readonly allowed: boolean;
  readonly retryAfterMs: number;
  readonly remaining: number;
  readonly resetMs: number;
}

/** The limiter's Lua script, read once at import; the file's header states KEYS, ARGV and replies. */
export const rateLimitScripts = {
  consume: loadLuaScript({
    file: new URL('./lua/rate-limit-1.lua', import.meta.url),
    keys: ['counter'],
    args: ['limit', 'windowMs', 'cost'],
    decode(value): ConsumeReply {
      const [allowed, retryAfterMs, remaining, resetMs] = reply.array(value, 'rate-limit').map((part) => reply.integer(part, 'rate-limit'));
      return { allowed: allowed === 1, retryAfterMs: retryAfterMs ?? 0, remaining: remaining ?? 0, resetMs: resetMs ?? 0 };
    },
  }),
};
