-- A pickup-code attempt takes a slot in the staff's and the station's wrong-code windows BEFORE it is
-- checked, so parallel guesses cannot all slip past the limit; a right code gives its slot back
-- (pickup_attempt_release). KEYS[1] staff counter, KEYS[2] station counter.
-- ARGV: staff limit, staff window ms, station limit, station window ms.
-- Returns {0, staff count, station count} | {1, staff ttl ms} (staff waits) | {2, station ttl ms} (locked).
local station = tonumber(redis.call('GET', KEYS[2]) or '0')
if station >= tonumber(ARGV[3]) then
  return {2, redis.call('PTTL', KEYS[2])}
end
local staff = tonumber(redis.call('GET', KEYS[1]) or '0')
if staff >= tonumber(ARGV[1]) then
  return {1, redis.call('PTTL', KEYS[1])}
end
local a = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local b = redis.call('INCR', KEYS[2])
if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return {0, a, b}
