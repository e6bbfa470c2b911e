-- (Re)load the gate from the database, which is the truth: remaining units and units per buyer.
-- Open holds are checkouts in flight: their units are not in the database yet, so they stay taken.
-- KEYS as live_take.lua. ARGV[1] remaining in the database, ARGV[2..] buyer, qty pairs.
-- Returns the gate's remaining after the load.
local held = 0
local per = {}
for _, v in pairs(redis.call('HVALS', KEYS[4])) do
  local sep = string.find(v, '|', 1, true)
  local buyer = string.sub(v, 1, sep - 1)
  local qty = tonumber(string.sub(v, sep + 1))
  held = held + qty
  per[buyer] = (per[buyer] or 0) + qty
end
local left = tonumber(ARGV[1]) - held
if left < 0 then
  left = 0
end
redis.call('SET', KEYS[1], left)
redis.call('DEL', KEYS[2])
local i = 2
while i < #ARGV do
  local buyer = ARGV[i]
  local qty = tonumber(ARGV[i + 1]) + (per[buyer] or 0)
  per[buyer] = nil
  if qty > 0 then
    redis.call('HSET', KEYS[2], buyer, qty)
  end
  i = i + 2
end
for buyer, qty in pairs(per) do
  redis.call('HSET', KEYS[2], buyer, qty)
end
return left
