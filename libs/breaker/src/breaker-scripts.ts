import { loadLuaScript } from '@rgw/redis';

/** The breaker's Lua scripts, read once at import. Each file's header states its KEYS, ARGV and replies. */
export const breakerScripts = {
  acquire: loadLuaScript(new URL('./lua/breaker-acquire-4.lua', import.meta.url)),
  record: loadLuaScript(new URL('./lua/breaker-record-6.lua', import.meta.url)),
  sync: loadLuaScript(new URL('./lua/breaker-sync-1.lua', import.meta.url)),
};

/** Key names of one scope. `prefix` ends with ':' (default 'gw:v1:cb:'). */
export function breakerKeys(prefix: string, scope: string) {
  const base = `${prefix}${scope}:`;
  return {
    open: `${base}open`,
    tripped: `${base}tripped`,
    probe: `${base}probe`,
    gen: `${base}gen`,
    consec: `${base}consec`,
  };
}
