--[[
  Record the outcome of an admitted backend call, atomically for the whole cluster, and publish
  any change of state so every replica's local mirror follows. Every key shares the breaker's
  hash tag ({cb}), so the script stays in one Redis Cluster slot.

  KEYS[1] open     STRING, present = OPEN (PX = open time)
  KEYS[2] tripped  HASH {trips}: present while OPEN or HALF-OPEN; trips = consecutive trips (backoff)
  KEYS[3] probe    STRING token of the half-open probe lease
  KEYS[4] gen      STRING integer generation
  KEYS[5] consec   STRING integer: consecutive failures across all replicas while CLOSED
  KEYS[6] active   SET of scopes that are not plainly closed (for the mirror resync)

  ARGV[1] outcome          's' success | 'f' failure | 'i' ignored (releases a probe lease)
  ARGV[2] token            the probe's lease token, '' for ordinary calls
  ARGV[3] gen_seen         generation when admitted, -1 if the caller did not know it
  ARGV[4] threshold        consecutive failures that open the breaker
  ARGV[5] open_ms          base open time
  ARGV[6] max_open_ms      cap of the doubling open time
  ARGV[7] scope            the scope name (published and stored in KEYS[6])
  ARGV[8] channel          pub/sub channel for state changes
  ARGV[9] consec_ttl_ms    consecutive failures are forgotten after this long without a failure
  ARGV[10] half_open_ttl_ms a half-open breaker nobody probes closes after this long

  Publishes JSON {scope, state, ttl, gen, consec} on ARGV[8] when state or failure count changes, and
  when a probe gives up its lease (half_open with ttl 0: the next request anywhere may probe at once).
  Returns {result, gen, ttl_ms_or_consec}:
    {'open', gen, open_ms}     this outcome opened (or reopened) the breaker
    {'closed', gen, consec}    still or again closed; consec = current consecutive failures
    {'released', gen, 0}       the probe gave up its lease
    {'stale', gen, 0}          admitted under an older generation / lost lease: ignored
    {'ignored', gen, 0}        ignored outcome, or an ordinary call finishing while OPEN/HALF-OPEN
]]
local outcome, token, scope, channel = ARGV[1], ARGV[2], ARGV[7], ARGV[8]
local gen = tonumber(redis.call('GET', KEYS[4]) or '0')

local function publish(state, ttl, consec)
  redis.call('PUBLISH', channel, cjson.encode({scope = scope, state = state, ttl = ttl, gen = gen, consec = consec}))
end

local function trip(trips)
  local base, cap = tonumber(ARGV[5]), tonumber(ARGV[6])
  local open_ms = math.floor(math.min(base * 2 ^ (trips - 1), cap))
  redis.call('SET', KEYS[1], '1', 'PX', open_ms)
  redis.call('HSET', KEYS[2], 'trips', trips)
  redis.call('PEXPIRE', KEYS[2], open_ms + tonumber(ARGV[10]))
  redis.call('DEL', KEYS[3], KEYS[5])
  redis.call('SADD', KEYS[6], scope)
  gen = redis.call('INCR', KEYS[4])
  publish('open', open_ms, 0)
  return {'open', gen, open_ms}
end

if token ~= '' then
  if redis.call('GET', KEYS[3]) ~= token then return {'stale', gen, 0} end -- lease expired and re-granted
  if outcome == 's' then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5])
    redis.call('SREM', KEYS[6], scope)
    gen = redis.call('INCR', KEYS[4])
    publish('closed', 0, 0)
    return {'closed', gen, 0}
  elseif outcome == 'f' then
    return trip(tonumber(redis.call('HGET', KEYS[2], 'trips') or '0') + 1)
  end
  redis.call('DEL', KEYS[3])
  publish('half_open', 0, 0)
  return {'released', gen, 0}
end

if outcome == 'i' then return {'ignored', gen, 0} end
if tonumber(ARGV[3]) ~= -1 and tonumber(ARGV[3]) ~= gen then return {'stale', gen, 0} end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return {'ignored', gen, 0} -- admitted before the trip: says nothing new
end

if outcome == 's' then
  if redis.call('DEL', KEYS[5]) == 1 then
    redis.call('SREM', KEYS[6], scope)
    publish('closed', 0, 0)
  end
  return {'closed', gen, 0}
end

local consec = redis.call('INCR', KEYS[5])
redis.call('PEXPIRE', KEYS[5], ARGV[9])
if consec >= tonumber(ARGV[4]) then return trip(1) end
redis.call('SADD', KEYS[6], scope)
publish('closed', 0, consec)
return {'closed', gen, consec}
