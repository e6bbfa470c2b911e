-- (Re)load the gate from the database, which is the truth: remaining units and units per buyer.
-- Open holds are checkouts in flight: their units are not in the database yet, so they stay taken.
-- KEYS as live_take.lua plus KEYS[5], the commit epoch: bumped whenever the gate learns of a commit
-- (a confirmed hold, a cancelled order's give-back). ARGV[1] the epoch read before the database,
-- ARGV[2] remaining in the database, ARGV[3..] buyer, qty pairs. A commit seen by the gate after
-- the database was read could be counted twice, so the load is refused then (returns -1).
-- Returns the gate's remaining after the load.
if (redis.call('GET', KEYS[5]) or '0') ~= ARGV[1] then
  return -1
end
local held = 0
local per = {}
for _, v in pairs(redis.call('HVALS', KEYS[4])) do
  local sep = string.find(v, '|', 1, true)
  local buyer = string.sub(v, 1, sep - 1)
  local qty = tonumber(string.sub(v, sep + 1))
  held = held + qty
  per[buyer] = (per[buyer] or 0) + qty
end
local left = tonumber(ARGV[2]) - held
if left < 0 then
  left = 0
end
redis.call('SET', KEYS[1], left)
redis.call('DEL', KEYS[2])
local i = 3
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
