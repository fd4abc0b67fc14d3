-- Copies an order's queue summary and hold into the queue's slot after a change
-- (redisstore.Store.copyQueued), and ends the change's mark (queue_mark.lua).
-- A copy only replaces one of a lower sequence number (the order's Queued "n", bumped in
-- the same step as each write of its summary or hold), so copies arriving out of order
-- keep the newest; a summary of an ended round deletes the copy and that round's entry;
-- a copy is only made for an entry that is in the queue, so a late copy of a round that
-- has ended cannot revive it. Whatever it changes, it sets the queue's stamp anew (a copy
-- that changes nothing, such as a page's repair of an entry of an uncommitted round,
-- leaves it, so that it does not spoil every instance's cached page).
-- KEYS: 1 copies (hash: q:ID, h:ID, s:ID), 2 writing counts, 3 the queue, 4 the stamp
-- ARGV: 1 order ID, 2 '1' ends a mark, 3 sequence number ('' copies nothing), 4 state,
--       5 round, 6 summary, 7 hold copy, 8 a member to remove ('' none), 9 the new stamp
local id = ARGV[1]
local changed = false
local function done(r)
  if changed then redis.call('SET', KEYS[4], ARGV[9]) end
  return r
end
if ARGV[2] == '1' and redis.call('HEXISTS', KEYS[2], id) == 1 then
  if redis.call('HINCRBY', KEYS[2], id, -1) <= 0 then redis.call('HDEL', KEYS[2], id) end
  changed = true
end
if ARGV[8] ~= '' and redis.call('ZREM', KEYS[3], ARGV[8]) > 0 then changed = true end
if ARGV[3] == '' then return done(0) end
local seq = tonumber(ARGV[3])
local cur = tonumber(redis.call('HGET', KEYS[1], 's:' .. id)) or -1
if seq <= cur then return done(0) end
local member = id .. ':' .. ARGV[5]
if ARGV[4] ~= 'submitted' then
  if redis.call('HDEL', KEYS[1], 's:' .. id, 'q:' .. id, 'h:' .. id) > 0 then changed = true end
  if redis.call('ZREM', KEYS[3], member) > 0 then changed = true end
  return done(2)
end
if not redis.call('ZSCORE', KEYS[3], member) then return done(0) end
redis.call('HSET', KEYS[1], 's:' .. id, seq, 'q:' .. id, ARGV[6], 'h:' .. id, ARGV[7])
changed = true
return done(1)
