-- A viewer's heartbeat: keep the connection in the presence set, drop expired ones, track the peak.
-- KEYS[1] presence (zset conn -> expiry ms), KEYS[2] figures (hash). ARGV[1] conn id,
-- ARGV[2] expiry ms ('' to leave), ARGV[3] now ms. Returns the current number of viewers.
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local n = redis.call('ZCARD', KEYS[1])
local peak = tonumber(redis.call('HGET', KEYS[2], 'peak') or '0')
if n > peak then
  redis.call('HSET', KEYS[2], 'peak', n)
end
return n
