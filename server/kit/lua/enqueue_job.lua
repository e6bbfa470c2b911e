-- arq's enqueue_job in one round trip (arq itself sends WATCH, EXISTS, then MULTI/PSETEX/ZADD/EXEC on a
-- connection of its own), with the same effect: nothing when the job or its result still exists.
-- One or more jobs enqueued at the same moment with the same delay:
-- KEYS[1] the queue, then each job's arq:job:<id> and arq:result:<id>;
-- ARGV[1] expiry in ms, ARGV[2] the score (ms), then each job's serialized record and id.
-- Returns how many were enqueued (a job whose id was taken is not).
local n = 0
for i = 1, (#KEYS - 1) / 2 do
  local job, result = KEYS[2 * i], KEYS[2 * i + 1]
  if redis.call('EXISTS', job, result) == 0 then
    redis.call('PSETEX', job, ARGV[1], ARGV[2 * i + 1])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[2 * i + 2])
    n = n + 1
  end
end
return n
