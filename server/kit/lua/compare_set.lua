-- Compare and set, keeping the key's remaining lifetime: KEYS[1] is set to ARGV[2] only when it holds
-- ARGV[1]. Returns 1 when set, 0 otherwise (absent, expired or holding something else).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
