-- Cancel a background response, atomically with respect to the runner's conditional saves.
-- KEYS[1]  the record hash  gw:v1:resp:<owner>:<response id>
-- Returns: nil when the record does not exist; otherwise the status it had before this call.
-- Side effect: status becomes 'cancelled' when it was 'queued' or 'in_progress'. The status field
-- overrides `response.status` inside the JSON body on read (the body is not re-encoded here:
-- cjson would turn empty arrays into objects).
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return false
end
if status == 'queued' or status == 'in_progress' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled')
end
return status
