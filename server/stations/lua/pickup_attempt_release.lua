-- Give back the slot an attempt took (it was not a guess). Never below zero, never on a window that
-- expired meanwhile (DECR would recreate the key without a TTL). KEYS as pickup_attempt.lua.
for _, k in ipairs(KEYS) do
  local v = tonumber(redis.call('GET', k) or '0')
  if v > 0 then redis.call('DECR', k) end
end
return 1
