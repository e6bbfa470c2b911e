-- arq's enqueue_job in one round trip (arq itself sends WATCH, EXISTS, then MULTI/PSETEX/ZADD/EXEC on a
-- connection of its own), with the same effect: nothing when the job or its result still exists.
-- One or more jobs, each with three KEYS and four ARGV:
-- KEYS arq:job:<id>, arq:result:<id>, the queue; ARGV expiry in ms, the serialized job, the score (ms), the job id.
-- Returns how many were enqueued (a job whose id was taken is not).
local n = 0
for i = 0, #KEYS / 3 - 1 do
  local job, result = KEYS[3 * i + 1], KEYS[3 * i + 2]
  if redis.call('EXISTS', job, result) == 0 then
    redis.call('PSETEX', job, ARGV[4 * i + 1], ARGV[4 * i + 2])
    redis.call('ZADD', KEYS[3 * i + 3], ARGV[4 * i + 3], ARGV[4 * i + 4])
    n = n + 1
  end
end
return n
