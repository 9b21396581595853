--[[
  The secret every replica uses when the operator set none: created once, by whichever replica
  asks first, and read by all the others (atomic: two replicas starting together agree).

  KEYS[1] secret     STRING, no TTL (losing it makes sealed reasoning and stored owners unreadable)

  ARGV[1] candidate  a fresh random secret, stored only if none exists yet

  Returns {secret, created}: the secret every replica must use, and 1 if this call created it.
]]
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0} end
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], 1}
