--[[
  Keep one shared, content-addressed blob (a tool list or instructions that many stored turns of a
  conversation repeat) alive at least as long as the record about to reference it. Records are
  written after their blobs, so a record never points at a missing blob.

  KEYS[1] blob  STRING gw:v2:blob:{<hash of owner and content>}  the encoded content

  ARGV[1] ttl_seconds  the lifetime the blob must have at least (RESPONSES_TTL_SECONDS)
  ARGV[2] content      the encoded content, or '' when the caller believes the blob exists (saves
                       sending and compressing 18 KB per turn)

  Returns 1 when the blob exists now (its TTL raised to ttl_seconds if it was lower), 0 when it
  did not and no content was given (the caller retries with the content).
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('TTL', KEYS[1]) < tonumber(ARGV[1]) then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
  end
  return 1
end
if ARGV[2] == '' then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
return 1
