-- Give back holds older than a cutoff: their checkout never confirmed (rolled back or crashed).
-- KEYS as live_take.lua. ARGV[1] cutoff ms. Returns the units given back.
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
local units = 0
for _, id in ipairs(ids) do
  local v = redis.call('HGET', KEYS[4], id)
  redis.call('ZREM', KEYS[3], id)
  if v then
    redis.call('HDEL', KEYS[4], id)
    local sep = string.find(v, '|', 1, true)
    local buyer = string.sub(v, 1, sep - 1)
    local qty = tonumber(string.sub(v, sep + 1))
    if redis.call('EXISTS', KEYS[1]) == 1 then
      redis.call('INCRBY', KEYS[1], qty)
    end
    local n = redis.call('HINCRBY', KEYS[2], buyer, -qty)
    if n <= 0 then
      redis.call('HDEL', KEYS[2], buyer)
    end
    units = units + qty
  end
end
return units
