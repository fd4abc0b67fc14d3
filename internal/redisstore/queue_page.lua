-- Reads a batch of the review queue with each entry's copy (queue_copy.lua), in one step
-- in the queue's slot (redisstore.Store.queueBatch).
-- KEYS: 1 the queue, 2 copies, 3 writing counts
-- ARGV: 1 lowest score, 2 offset, 3 count
-- Returns member, score, writing ('1' when a change of the order is being copied: read the
-- order instead), summary copy, hold copy, for each entry; a missing copy is ''.
local zs = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', ARGV[2], ARGV[3])
local out = {}
for i = 1, #zs, 2 do
  local m = zs[i]
  local id = string.match(m, '^(.*):%d+$')
  local writing, q, h = '0', '', ''
  if id then
    if redis.call('HEXISTS', KEYS[3], id) == 1 then
      writing = '1'
    else
      local c = redis.call('HMGET', KEYS[2], 'q:' .. id, 'h:' .. id)
      q, h = c[1] or '', c[2] or ''
    end
  end
  out[#out + 1] = m
  out[#out + 1] = zs[i + 1]
  out[#out + 1] = writing
  out[#out + 1] = q
  out[#out + 1] = h
end
return out
