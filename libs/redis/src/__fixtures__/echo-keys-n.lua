--[[
  Test fixture: a script with any number of keys; returns the key count, its keys and its arguments.
  KEYS[1..n] keys   any keys
  ARGV[1] value     any value
  ARGV[2..] extras  any further values
  Returns {n, KEYS[1], …, KEYS[n], ARGV[1], …}
]]
local result = {#KEYS}
for _, key in ipairs(KEYS) do
  table.insert(result, key)
end
for _, value in ipairs(ARGV) do
  table.insert(result, value)
end
return result
