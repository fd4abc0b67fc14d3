-- Copies an order's queue summary and hold into the queue's slot after a change
-- (redisstore.Store.copyQueued), and ends the change's mark (queue_mark.lua).
-- A copy only replaces one of a lower sequence number (the order's Queued "n", bumped in
-- the same step as each write of its summary or hold), so copies arriving out of order
-- keep the newest; a summary of an ended round deletes the copy and that round's entry;
-- a copy is only made for an entry that is in the queue, so a late copy of a round that
-- has ended cannot revive it.
-- KEYS: 1 copies (hash: q:ID, h:ID, s:ID), 2 writing counts, 3 the queue
-- ARGV: 1 order ID, 2 '1' ends a mark, 3 sequence number ('' copies nothing), 4 state,
--       5 round, 6 summary, 7 hold copy, 8 a member to remove ('' none)
local id = ARGV[1]
if ARGV[2] == '1' and redis.call('HEXISTS', KEYS[2], id) == 1 then
  if redis.call('HINCRBY', KEYS[2], id, -1) <= 0 then redis.call('HDEL', KEYS[2], id) end
end
if ARGV[8] ~= '' then redis.call('ZREM', KEYS[3], ARGV[8]) end
if ARGV[3] == '' then return 0 end
local seq = tonumber(ARGV[3])
local cur = tonumber(redis.call('HGET', KEYS[1], 's:' .. id)) or -1
if seq <= cur then return 0 end
local member = id .. ':' .. ARGV[5]
if ARGV[4] ~= 'submitted' then
  redis.call('HDEL', KEYS[1], 's:' .. id, 'q:' .. id, 'h:' .. id)
  redis.call('ZREM', KEYS[3], member)
  return 2
end
if not redis.call('ZSCORE', KEYS[3], member) then return 0 end
redis.call('HSET', KEYS[1], 's:' .. id, seq, 'q:' .. id, ARGV[6], 'h:' .. id, ARGV[7])
return 1
