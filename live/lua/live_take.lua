-- Flash-sale gate (秒杀闸): check and take a tie-in's quota with a per-buyer limit, atomically.
-- KEYS[1] remaining units (string), KEYS[2] units per buyer (hash), KEYS[3] open holds (zset id -> ms),
-- KEYS[4] hold contents (hash id -> "buyer|qty"), KEYS[5] the commit epoch (not used here).
-- ARGV[1] buyer, ARGV[2] qty, ARGV[3] per-buyer limit, ARGV[4] hold id, ARGV[5] now ms.
-- The buy button's queue (排队下单), when KEYS[6..11] are given: on a take, also write the ticket and
-- put it in the order queue in the same step, so an admitted buyer costs one round trip in all; the
-- queue's drain job (live.drain_orders, see live/checkout.py) is enqueued when none is running or
-- due (the drain flag was not set): the drain writes the queue's orders in batches.
-- KEYS[6] the ticket, KEYS[7] the order queue (zset ticket -> ms), KEYS[8] the drain flag,
-- KEYS[9..11] the drain job as server.kit.jobs.job_record gives it (job, result, queue),
-- KEYS[12] (optional) the buyer's Idempotency-Key -> ticket; ARGV[6] the ticket (JSON), ARGV[7] its
-- TTL in s, ARGV[8..11] the job record (expiry ms, serialized job, score ms, id), ARGV[12] the drain
-- flag's life in ms (a drain that died is replaced by the sweeper after it).
-- Returns 1 taken, 0 sold out, -1 gate not loaded (cold: load it from the database), -2 over the limit,
-- -3 the Idempotency-Key already has a ticket (nothing taken).
if KEYS[12] and redis.call('EXISTS', KEYS[12]) == 1 then
  return -3
end
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
if KEYS[11] then
  redis.call('SET', KEYS[6], ARGV[6], 'EX', ARGV[7])
  redis.call('ZADD', KEYS[7], ARGV[5], ARGV[4])
  if redis.call('SET', KEYS[8], ARGV[11], 'NX', 'PX', ARGV[12]) then
    redis.call('PSETEX', KEYS[9], ARGV[8], ARGV[9])
    redis.call('ZADD', KEYS[11], ARGV[10], ARGV[11])
  end
  if KEYS[12] then
    redis.call('SET', KEYS[12], ARGV[4], 'EX', ARGV[7])
  end
end
return 1
