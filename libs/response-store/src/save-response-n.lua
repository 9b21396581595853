-- Save (create or replace) one stored response and index its items, in one round trip.
-- KEYS[1]     the record hash  gw:v1:resp:<owner>:<response id>  (fields: status, body)
-- KEYS[2..n]  its item keys    gw:v1:resp:<owner>:item:<item id>  (value: the response id)
-- ARGV[1]  the response status (queued, in_progress, completed, failed, incomplete, cancelled)
-- ARGV[2]  body: JSON {response, inputItems, ancestorIds}
-- ARGV[3]  TTL in seconds, applied when the record is created (a later save keeps the first deadline)
-- ARGV[4]  '1': a background run's update: refuse when the record is 'cancelled' or gone (deleted
--          or expired; a run never re-creates what DELETE removed), else '0'
-- ARGV[5]  the response id, stored under each item key
-- Returns: the record's remaining TTL in seconds (>= 1) when saved, which the item keys get too;
--          0 when refused (nothing written).
if ARGV[4] == '1' then
  local status = redis.call('HGET', KEYS[1], 'status')
  if not status or status == 'cancelled' then
    return 0
  end
end
local existed = redis.call('EXISTS', KEYS[1])
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'body', ARGV[2])
local ttl = redis.call('TTL', KEYS[1])
if existed == 0 or ttl < 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  ttl = tonumber(ARGV[3])
end
for index = 2, #KEYS do
  redis.call('SET', KEYS[index], ARGV[5], 'EX', ttl)
end
return ttl
