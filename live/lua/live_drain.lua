-- The order queue's drain (live.drain_orders, live/checkout.py) has written the tickets ARGV[2..]:
-- take them off the queue, and if it is empty now, end the drain (clear the drain flag, so the next
-- take enqueues a new one); else keep the flag alive for ARGV[1] ms more. One step: a take that
-- finds the flag set always has a drain coming for its ticket. Tickets are taken off by name, so
-- two drains at once (one enqueued after the other's flag ran out) never drop each other's.
-- KEYS[1] the order queue (zset ticket -> ms), KEYS[2] the drain flag. Returns the tickets left.
if #ARGV > 1 then
  redis.call('ZREM', KEYS[1], unpack(ARGV, 2))
end
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[2])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return left
