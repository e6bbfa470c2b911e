-- arq's enqueue_job in one round trip (arq itself sends WATCH, EXISTS, then MULTI/PSETEX/ZADD/EXEC on a
-- connection of its own), with the same effect: nothing when the job or its result still exists.
-- KEYS[1] arq:job:<id>, KEYS[2] arq:result:<id>, KEYS[3] the queue;
-- ARGV[1] expiry in ms, ARGV[2] the serialized job, ARGV[3] the score (ms), ARGV[4] the job id.
-- Returns 1 when enqueued, 0 when the id was taken.
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
  return 0
end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
