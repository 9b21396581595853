--[[
  Release the refresh lock only if this caller still holds it (compare-and-delete): a caller whose
  lock expired must not delete the lock a later caller took.

  KEYS[1] lock   STRING holder token (SET NX PX by the caller)
  ARGV[1] token  the caller's token

  Returns 1 if released, 0 if the lock was not (or no longer) this caller's.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
