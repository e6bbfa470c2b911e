-- SMS send gate (短信发送限频): at most ARGV[3] sends in any 60 s and ARGV[4] in any 24 h per phone.
-- Sliding windows on the service clock (ARGV[1], ms) so they are exact and tests can shift time.
-- KEYS[1] the phone's send log (sorted set: member -> sent-at ms); ARGV[2] this send's member.
-- Returns {1, "ok", 0} after recording the send, or {0, "minute"|"day", retry_after_ms}.
local now = tonumber(ARGV[1])
local day_ms, minute_ms = 86400000, 60000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - day_ms)
if redis.call('ZCOUNT', KEYS[1], now - day_ms + 1, '+inf') >= tonumber(ARGV[4]) then
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], now - day_ms + 1, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return {0, 'day', tonumber(oldest[2]) + day_ms - now}
end
local recent = redis.call('ZRANGEBYSCORE', KEYS[1], now - minute_ms + 1, '+inf', 'WITHSCORES')
if #recent / 2 >= tonumber(ARGV[3]) then
  return {0, 'minute', tonumber(recent[2]) + minute_ms - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], day_ms)
return {1, 'ok', 0}
