-- Notes one upload of a slot by a device in the device's index, or confirms it.
-- KEYS: 1 the device's recent orders (sorted set, score the last upload in Unix ms),
--       2 the device's entries (hash order → JSON {first, last, slots: {slot: {at, ok}}})
-- ARGV: 1 order, 2 slot, 3 the upload's time (Unix ms), 4 retention (ms), 5 "1" confirms
--       an upload noted before (its order's transaction committed), "0" notes one before
--       that transaction, 6 the most entries kept
local at = tonumber(ARGV[3])
local raw = redis.call('HGET', KEYS[2], ARGV[1])
local e
if raw then e = cjson.decode(raw) end
if ARGV[5] == '1' then
  -- Confirm only what was noted: an index forgotten meanwhile stays forgotten.
  if not e or not e.slots[ARGV[2]] then return 0 end
  local s = e.slots[ARGV[2]]
  if s.at == at then s.ok = true end
  if e.first == 0 or at < e.first then e.first = at end
  if at > e.last then e.last = at end
else
  if not e then e = {first = 0, last = 0, slots = {}} end
  local s = e.slots[ARGV[2]]
  if s then s.at = at else e.slots[ARGV[2]] = {at = at, ok = false} end
end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(e))
redis.call('ZADD', KEYS[1], 'GT', at, ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
local cap = tonumber(ARGV[6])
if n > cap then
  local old = redis.call('ZRANGE', KEYS[1], 0, n - cap - 1)
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('HDEL', KEYS[2], unpack(old))
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
