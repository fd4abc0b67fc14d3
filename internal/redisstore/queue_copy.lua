-- Copies an order's queue summary and hold into the queue's slot (redisstore.Store
-- .copyQueued, .holdInline), and ends a change's mark (queue_mark.lua).
-- A copy only replaces one of a lower sequence number (the order's Queued "n", bumped in
-- the same step as each write of its summary or hold), so copies arriving out of order
-- keep the newest; a summary of an ended round deletes the copy and that round's entry;
-- a copy is only made for an entry that is in the queue, so a late copy of a round that
-- has ended cannot revive it. Whatever it changes, it sets the queue's stamp anew (a copy
-- that changes nothing, such as a page's repair of an entry of an uncommitted round, or
-- the copy after a hold call that changed nothing, leaves it, so that it does not spoil
-- every instance's cached page).
-- KEYS: 1 copies (hash: q:ID, h:ID, s:ID), 2 writing counts, 3 the queue, 4 the stamp;
--       on a single Redis or Sentinel also 5 the order's summary hash (beian:{ID}:queued),
--       when the script runs in the same MULTI as hold.lua: then the summary, the hold
--       copy and the sequence number are read from it as the hold leaves them, and ARGV
--       3-7 are not used (on Cluster KEYS 5 is in another slot: the caller passes them)
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
local seq, state, round, q, h = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if KEYS[5] then
  local v = redis.call('HMGET', KEYS[5], 'q', 'h', 'n')
  q, h, seq = v[1] or '', v[2] or '', v[3] or ''
  -- The summary's first two fields, framed as redisstore.QueuedSummary writes them (each
  -- its length, a colon and its bytes): the state and the round.
  local f, i = {}, 1
  while #f < 2 do
    local colon = string.find(q, ':', i, true)
    local n = colon and tonumber(string.sub(q, i, colon - 1))
    if not n or colon + n > #q then break end
    f[#f + 1] = string.sub(q, colon + 1, colon + n)
    i = colon + n + 1
  end
  if #f < 2 then
    -- No summary (an order written before summaries existed, or gone): nothing to copy;
    -- pages read such an order from its own keys. A write it numbered (a hold) may have
    -- changed what they read there, so the stamp is set anew.
    if seq ~= '' and seq ~= '0' then changed = true end
    return done(0)
  end
  state, round = f[1], f[2]
end
if seq == '' then return done(0) end
seq = tonumber(seq)
local cur = tonumber(redis.call('HGET', KEYS[1], 's:' .. id)) or -1
if seq <= cur then return done(0) end
local member = id .. ':' .. round
if state ~= 'submitted' then
  if redis.call('HDEL', KEYS[1], 's:' .. id, 'q:' .. id, 'h:' .. id) > 0 then changed = true end
  if redis.call('ZREM', KEYS[3], member) > 0 then changed = true end
  return done(2)
end
if not redis.call('ZSCORE', KEYS[3], member) then return done(0) end
redis.call('HSET', KEYS[1], 's:' .. id, seq, 'q:' .. id, q, 'h:' .. id, h)
changed = true
return done(1)
