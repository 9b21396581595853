--[[
  Test fixture: returns its key and first argument.
  KEYS[1] key    any key
  ARGV[1] value  any value
  Returns {KEYS[1], ARGV[1]}
]]
return {KEYS[1], ARGV[1]}
