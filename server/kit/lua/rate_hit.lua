-- Fixed-window counters: for each key, INCR and set the window's expiry on the first hit, atomically.
-- KEYS[i] counter key, ARGV[i] its window in ms (one or more; a key may appear more than once, each
-- a hit). Returns {count_1, ttl_ms_1, count_2, ttl_ms_2, ...}.
local out = {}
for i, k in ipairs(KEYS) do
  local n = redis.call('INCR', k)
  if n == 1 then
    redis.call('PEXPIRE', k, ARGV[i])
  end
  local ttl = redis.call('PTTL', k)
  if ttl < 0 then
    redis.call('PEXPIRE', k, ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out
