--[[
  Read the state of every scope that is not plainly closed, to (re)build a replica's mirror after
  it (re)subscribed (pub/sub messages sent while it was disconnected are lost). Scopes whose keys
  all expired are dropped from the set here.

  Builds per-scope key names from ARGV[1], so it assumes a single Redis (not Redis Cluster).

  KEYS[1] active   SET of scope names
  ARGV[1] scope_key_prefix  e.g. 'gw:v1:cb:'; a scope's keys are <prefix><scope>:open etc.

  Returns a flat array: scope, state ('open'|'half_open'|'closed'), ttl_ms, gen, consec, ...
]]
local out = {}
for _, scope in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local base = ARGV[1] .. scope .. ':'
  local gen = tonumber(redis.call('GET', base .. 'gen') or '0')
  local open_ttl = redis.call('PTTL', base .. 'open')
  local consec = tonumber(redis.call('GET', base .. 'consec') or '0')
  if open_ttl > 0 or open_ttl == -1 then
    for _, v in ipairs({scope, 'open', math.max(open_ttl, 0), gen, 0}) do out[#out + 1] = v end
  elseif redis.call('EXISTS', base .. 'tripped') == 1 then
    local lease = math.max(redis.call('PTTL', base .. 'probe'), 0)
    for _, v in ipairs({scope, 'half_open', lease, gen, 0}) do out[#out + 1] = v end
  elseif consec > 0 then
    for _, v in ipairs({scope, 'closed', 0, gen, consec}) do out[#out + 1] = v end
  else
    redis.call('SREM', KEYS[1], scope)
  end
end
return out
