-- Flash-sale gate (秒杀闸): check and take a tie-in's quota with a per-buyer limit, atomically.
-- KEYS[1] remaining units (string), KEYS[2] units per buyer (hash), KEYS[3] open holds (zset id -> ms),
-- KEYS[4] hold contents (hash id -> "buyer|qty").
-- ARGV[1] buyer, ARGV[2] qty, ARGV[3] per-buyer limit, ARGV[4] hold id, ARGV[5] now ms.
-- Returns 1 taken, 0 sold out, -1 gate not loaded (cold: load it from the database), -2 over the limit.
local left = redis.call('GET', KEYS[1])
if not left then
  return -1
end
local qty = tonumber(ARGV[2])
local bought = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if bought + qty > tonumber(ARGV[3]) then
  return -2
end
if tonumber(left) < qty then
  return 0
end
redis.call('DECRBY', KEYS[1], qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
redis.call('HSET', KEYS[4], ARGV[4], ARGV[1] .. '|' .. ARGV[2])
return 1
