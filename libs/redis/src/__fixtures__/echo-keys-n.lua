--[[
  Test fixture: a script with any number of keys; returns the key count, its keys and first argument.
  KEYS[1..n] any keys
  ARGV[1]    any value
  Returns {n, KEYS[1], …, KEYS[n], ARGV[1]}
]]
local result = {#KEYS}
for _, key in ipairs(KEYS) do
  table.insert(result, key)
end
table.insert(result, ARGV[1])
return result
