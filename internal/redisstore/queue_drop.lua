-- Removes entries of rounds that have ended (redisstore.Store.dropQueued) and, when any
-- was there, sets the queue's stamp anew, like every other change of the queue.
-- KEYS: 1 the queue, 2 the stamp
-- ARGV: 1 the new stamp, 2.. the members
local members = {}
for i = 2, #ARGV do members[#members + 1] = ARGV[i] end
if #members > 0 and redis.call('ZREM', KEYS[1], unpack(members)) > 0 then
  redis.call('SET', KEYS[2], ARGV[1])
end
return 1
