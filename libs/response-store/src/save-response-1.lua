--[[
  Save (create or replace) one stored response, in one round trip. Its item index keys and shared
  blobs live in other slots (Redis Cluster) and are written by the caller around this script.

  KEYS[1] record  HASH gw:v2:resp:{<response id>}  {status, owner, body}

  ARGV[1] status            queued, in_progress, completed, failed, incomplete, cancelled
  ARGV[2] owner             the owner hash to store when the record is created
  ARGV[3] accepted_owners   comma-separated owner hashes that may replace it (current key, then previous keys)
  ARGV[4] body              the encoded record (JSON, or deflate-compressed JSON)
  ARGV[5] ttl_seconds       applied when the record is created (a later save keeps the first deadline)
  ARGV[6] unless_cancelled  '1': a background run's update: refuse when the record is 'cancelled' or
                            gone (deleted or expired; a run never re-creates what DELETE removed)

  Returns the record's remaining TTL in seconds (>= 1) when saved (the caller gives its item keys
  the same); 0 when refused as cancelled or gone; -1 when the record belongs to another owner
  (nothing written either way).
]]
local existing_owner = redis.call('HGET', KEYS[1], 'owner')
if existing_owner then
  local accepted = false
  for owner in string.gmatch(ARGV[3], '[^,]+') do
    if owner == existing_owner then accepted = true end
  end
  if not accepted then return -1 end
end
if ARGV[6] == '1' then
  local status = redis.call('HGET', KEYS[1], 'status')
  if not status or status == 'cancelled' then
    return 0
  end
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'owner', existing_owner or ARGV[2], 'body', ARGV[4])
local ttl = redis.call('TTL', KEYS[1])
if not existing_owner or ttl < 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  ttl = tonumber(ARGV[5])
end
return ttl
