--[[
  Publish a freshly fetched model list. Idempotent: running it twice, on two workers, or from a
  replica's fallback refresh racing the worker, is harmless. The list is a full replacement
  (removed models disappear). The caller never sends an empty list. Both keys share the {models}
  hash tag (one Redis Cluster slot); the channel is not a key.

  KEYS[1] snapshot  HASH {hash, json, fetchedAt}; no TTL: the last good list outlives a worker outage
  KEYS[2] fresh     STRING hash, PX fresh_ttl_ms: absent = nobody refreshed lately (worker down)

  ARGV[1] json          canonical JSON of the list (sorted by id)
  ARGV[2] hash          sha256 of ARGV[1]
  ARGV[3] fresh_ttl_ms  freshness period
  ARGV[4] channel       pub/sub channel told about changes (payload: the new hash)
  ARGV[5] fetched_at    ms since the epoch, the writer's clock (for the age metric only)

  Returns 1 when the list changed (written and published), 0 when unchanged (only freshness updated).
]]
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('HSET', KEYS[1], 'fetchedAt', ARGV[5])
if redis.call('HGET', KEYS[1], 'hash') == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'hash', ARGV[2], 'json', ARGV[1])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return 1
