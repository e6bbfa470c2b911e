-- Check an SMS code (验证码) atomically, so concurrent wrong guesses cannot exceed the limit.
-- KEYS[1] the code hash {h = HMAC of the code, exp = expiry ms on the service clock, n = wrong tries}.
-- ARGV[1] HMAC of the candidate; ARGV[2] now (ms); ARGV[3] max wrong tries.
-- Returns {1, "ok", 0} (the code is consumed: single use) or {0, reason, tries_left} with reason
-- "missing" (never sent, used, or invalidated), "expired", "wrong" or "locked" (this was the last try).
local v = redis.call('HMGET', KEYS[1], 'h', 'exp', 'n')
if not v[1] then
  return {0, 'missing', 0}
end
if tonumber(v[2]) <= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return {0, 'expired', 0}
end
if v[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {1, 'ok', 0}
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local left = tonumber(ARGV[3]) - n
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return {0, 'locked', 0}
end
return {0, 'wrong', left}
