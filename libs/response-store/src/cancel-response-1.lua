--[[
  Cancel a background response, atomically with respect to the runner's conditional saves.

  KEYS[1] record           HASH gw:v2:resp:{<response id>}  {status, owner, body}

  ARGV[1] accepted_owners  comma-separated owner hashes of the caller (current key, then previous keys)

  Returns nil when the record does not exist or belongs to another owner; otherwise the status it
  had before this call. Side effect: status becomes 'cancelled' when it was 'queued' or
  'in_progress'. The status field overrides `response.status` inside the body on read (the body
  is not re-encoded here: it may be compressed, and cjson would turn empty arrays into objects).
]]
local status = redis.call('HGET', KEYS[1], 'status')
local owner = redis.call('HGET', KEYS[1], 'owner')
if not status or not owner then
  return false
end
local accepted = false
for candidate in string.gmatch(ARGV[1], '[^,]+') do
  if candidate == owner then accepted = true end
end
if not accepted then return false end
if status == 'queued' or status == 'in_progress' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled')
end
return status
