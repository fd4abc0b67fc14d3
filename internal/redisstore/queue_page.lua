-- Reads a batch of the review queue with each entry's copy (queue_copy.lua), in one step
-- in the queue's slot (redisstore.Store.queueBatch): three commands, whatever the batch;
-- or, when the caller's cached page was read at the stamp the queue has now, one GET.
-- KEYS: 1 the queue, 2 copies, 3 writing counts, 4 the stamp
-- ARGV: 1 lowest score, 2 offset, 3 count, 4 the stamp of the caller's cached page ('' none)
-- Returns the stamp ('' none), '1' when it is ARGV[4] (nothing more follows) or '0', then
-- member, score, writing ('1' when a change of the order is being copied: read the
-- order instead), summary copy, hold copy, for each entry; a missing copy is ''.
local stamp = redis.call('GET', KEYS[4]) or ''
if stamp ~= '' and stamp == ARGV[4] then return {stamp, '1'} end
local zs = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', ARGV[2], ARGV[3])
if #zs == 0 then return {stamp, '0'} end
local ids, fields = {}, {}
for i = 1, #zs, 2 do
  local id = string.match(zs[i], '^(.*):%d+$') or ''
  ids[#ids + 1] = id
  fields[#fields + 1] = 'q:' .. id
  fields[#fields + 1] = 'h:' .. id
end
local writing = redis.call('HMGET', KEYS[3], unpack(ids))
local copies = redis.call('HMGET', KEYS[2], unpack(fields))
local out = {stamp, '0'}
for j = 1, #ids do
  out[#out + 1] = zs[2 * j - 1]
  out[#out + 1] = zs[2 * j]
  if writing[j] then
    out[#out + 1] = '1'
    out[#out + 1] = ''
    out[#out + 1] = ''
  else
    out[#out + 1] = '0'
    out[#out + 1] = copies[2 * j - 1] or ''
    out[#out + 1] = copies[2 * j] or ''
  end
end
return out
