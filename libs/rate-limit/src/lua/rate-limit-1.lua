--[[
  Sliding-window counter for one key, one round trip (the same arithmetic as decide-sliding-window.ts).
  Usage = current window's count + previous window's count weighted by its remaining overlap.
  Time is Redis's own clock (TIME), so replicas with skewed clocks agree.

  KEYS[1] counter  HASH {<window index> = units}; only the current and previous windows are kept

  ARGV[1] limit      units per window (integer >= 1)
  ARGV[2] window_ms  window length in milliseconds
  ARGV[3] cost       units this call wants (integer >= 1)

  Returns {allowed, retry_after_ms, remaining, reset_ms}:
    {1, 0, remaining, reset_ms}          counted
    {0, retry_after_ms, remaining, reset_ms}  refused; nothing counted
]]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local index = math.floor(now / window)
local elapsed = now - index * window
local current = tonumber(redis.call('HGET', KEYS[1], tostring(index)) or '0')
local previous = tonumber(redis.call('HGET', KEYS[1], tostring(index - 1)) or '0')
local used = previous * (1 - elapsed / window) + current
local until_end = window - elapsed

if used + cost <= limit then
  redis.call('HINCRBY', KEYS[1], tostring(index), cost)
  redis.call('HDEL', KEYS[1], tostring(index - 2))
  -- The current window's count matters until the end of the next one.
  redis.call('PEXPIRE', KEYS[1], until_end + window)
  return {1, 0, math.max(0, math.floor(limit - used - cost)), until_end + window}
end

local wait
if cost > limit then
  wait = 2 * window
elseif previous > 0 and current + cost <= limit then
  wait = math.ceil((1 - (limit - current - cost) / previous) * window - elapsed)
else
  local needed = 0
  if current > 0 then needed = math.max(0, 1 - (limit - cost) / current) end
  wait = math.ceil(until_end + needed * window)
end
local reset = 0
if current > 0 then reset = until_end + window elseif previous > 0 then reset = until_end end
return {0, math.max(1, wait), math.max(0, math.floor(limit - used)), reset}
