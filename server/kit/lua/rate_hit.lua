-- Fixed-window counter: INCR and set the window's expiry on the first hit, atomically.
-- KEYS[1] counter key; ARGV[1] window in ms. Returns {count, ttl_ms}.
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
