-- Give units back to the gate: a hold whose transaction rolled back, or an unpaid order cancelled.
-- KEYS as live_take.lua. ARGV[1] buyer, ARGV[2] units off the buyer's count, ARGV[3] hold id
-- ('' for none), ARGV[4] units back into the remaining quota (a cancelled order's units may have
-- been sold off the shelf meanwhile, so this can be less than ARGV[2]).
-- With a hold id, only an open hold is given back (so a give-back runs at most once per hold).
-- KEYS[5] the commit epoch (see live_load.lua), bumped: a load racing this must start over.
if ARGV[3] ~= '' then
  if redis.call('HDEL', KEYS[4], ARGV[3]) == 0 then
    return 0
  end
  redis.call('ZREM', KEYS[3], ARGV[3])
end
redis.call('INCR', KEYS[5])
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(ARGV[4]) > 0 then
  redis.call('INCRBY', KEYS[1], ARGV[4])
end
local n = redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[2]))
if n <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
