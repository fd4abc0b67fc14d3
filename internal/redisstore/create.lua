-- Creates an order: its JSON (unless the ID is taken), its version, its first audit entry
-- and its webhook outbox, all or nothing (CreateOrder). The caller pipelines its WAIT right
-- after, so one confirmation covers all of it.
-- KEYS: 1 order JSON, 2 version, 3 audit stream, 4 outbox (all in the order's slot);
--       with webhooks on a single Redis or Sentinel also 5 the due index and 6 the listed
--       index (on Cluster they are in another slot: written beside, see outbox.go)
-- ARGV: 1 order JSON, 2 retention (ms), 3 version, 4 the outbox's life (ms), 5 order ID,
--       6 due at (Unix ms), 7 n: the outbox's fields (0: no webhooks),
--       8 .. 7+2n field, value, … of the outbox, then field, value, … of the audit entry
-- Returns {1}, or {0} if the ID is taken (then nothing was written).
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {0} end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
local n = tonumber(ARGV[7])
local outbox, entry = {}, {}
for i = 8, #ARGV do
  if i < 8 + 2 * n then outbox[#outbox + 1] = ARGV[i] else entry[#entry + 1] = ARGV[i] end
end
redis.call('XADD', KEYS[3], '*', unpack(entry))
redis.call('PEXPIRE', KEYS[3], ARGV[2])
if n > 0 then
  redis.call('HSET', KEYS[4], unpack(outbox))
  redis.call('PEXPIRE', KEYS[4], ARGV[4])
  if KEYS[5] then
    redis.call('ZADD', KEYS[5], 'LT', ARGV[6], ARGV[5])
    redis.call('ZADD', KEYS[6], 'LT', ARGV[6], ARGV[5])
  end
end
return {1}
