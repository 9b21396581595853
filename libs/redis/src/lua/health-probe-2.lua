--[[
  The readiness probe's write: a real multi-key script, as the request path runs them. It fails the
  way the request path would: OOM (maxmemory with noeviction), READONLY (a demoted master),
  CROSSSLOT (keys without a shared hash tag), MOVED (a stale slot map), NOAUTH, or a timeout (a
  hung or paused Redis).

  KEYS[1] first   STRING, any key of the probing replica (both share one hash tag)
  KEYS[2] second  STRING, its sibling

  ARGV[1] value     what to store (the probing replica's id)
  ARGV[2] ttl_ms    lifetime of both keys

  Returns 1.
]]
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
