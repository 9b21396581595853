--[[
  Decide whether a call to one breaker scope may go to the backend. One round trip; only run
  when the caller's local mirror says the scope is not plainly closed (or the mirror is not synced).
  The keys share the breaker's hash tag ({cb}): one Redis Cluster slot.

  KEYS[1] open     STRING, present = OPEN; its PTTL is the remaining open time (Redis's clock)
  KEYS[2] tripped  HASH {trips}, present while OPEN or HALF-OPEN
  KEYS[3] probe    STRING token of the single half-open probe (the cluster-wide lease)
  KEYS[4] gen      STRING integer, bumped on every trip and every close

  ARGV[1] token           random token for this caller, stored if it wins the probe lease
  ARGV[2] probe_lease_ms  lease duration

  Returns {state, ttl_ms, gen}:
    {'open', remaining_open_ms, gen}
    {'probe', probe_lease_ms, gen}      this caller holds the lease: it is the probe
    {'half_open', lease_remaining_ms, gen}  another caller probes; refuse
    {'closed', 0, gen}
]]
local gen = tonumber(redis.call('GET', KEYS[4]) or '0')
local open_ttl = redis.call('PTTL', KEYS[1])
if open_ttl > 0 or open_ttl == -1 then
  return {'open', math.max(open_ttl, 0), gen}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {'probe', tonumber(ARGV[2]), gen}
  end
  return {'half_open', math.max(redis.call('PTTL', KEYS[3]), 0), gen}
end
return {'closed', 0, gen}
