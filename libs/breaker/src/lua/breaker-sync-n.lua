--[[
  Read the state of every scope that is not plainly closed, to (re)build a replica's mirror after
  it (re)subscribed (pub/sub messages sent while it was disconnected are lost). Scopes whose keys
  all expired are dropped from the set here. The caller lists the scopes (SMEMBERS of the active
  set, one round trip before) and declares every key: Redis Cluster refuses keys a script builds
  itself, and all of them share the breaker's hash tag, so they sit in one slot.

  KEYS[1] active         SET of scope names
  KEYS[2..] scope_keys   five keys per scope, in ARGV order: gen, open, consec, tripped, probe
  ARGV[1..] scopes       the scope names the keys belong to

  Returns a flat array: scope, state ('open'|'half_open'|'closed'), ttl_ms, gen, consec, ...
  (a scope the set no longer holds, e.g. closed meanwhile, is skipped)
]]
local out = {}
for index, scope in ipairs(ARGV) do
  local base = 1 + (index - 1) * 5
  local gen_key, open_key, consec_key, tripped_key, probe_key = KEYS[base + 1], KEYS[base + 2], KEYS[base + 3], KEYS[base + 4], KEYS[base + 5]
  if redis.call('SISMEMBER', KEYS[1], scope) == 1 then
    local gen = tonumber(redis.call('GET', gen_key) or '0')
    local open_ttl = redis.call('PTTL', open_key)
    local consec = tonumber(redis.call('GET', consec_key) or '0')
    if open_ttl > 0 or open_ttl == -1 then
      for _, v in ipairs({scope, 'open', math.max(open_ttl, 0), gen, 0}) do out[#out + 1] = v end
    elseif redis.call('EXISTS', tripped_key) == 1 then
      local lease = math.max(redis.call('PTTL', probe_key), 0)
      for _, v in ipairs({scope, 'half_open', lease, gen, 0}) do out[#out + 1] = v end
    elseif consec > 0 then
      for _, v in ipairs({scope, 'closed', 0, gen, consec}) do out[#out + 1] = v end
    else
      redis.call('SREM', KEYS[1], scope)
    end
  end
end
return out
