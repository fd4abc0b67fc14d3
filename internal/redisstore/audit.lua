-- Appends one entry to an order's audit trail, only while the order exists, so that an
-- entry never outlives (or revives) an expired order.
-- KEYS: 1 order JSON, 2 audit stream, 3.. the order's other keys that expire with it
-- ARGV: 1 mode: "read" keeps the order's expiry (a read is no change; the stream gets the
--       order's TTL) or "change" starts the retention again (PERSIST while submitted),
--       2 retention (ms), 3 stream cap, 4.. field, value, …
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
if ARGV[1] == 'change' then
  local persist = cjson.decode(raw).state == 'submitted'
  for i = 1, #KEYS do
    if persist then redis.call('PERSIST', KEYS[i]) else redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
  end
else
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('PERSIST', KEYS[2]) end
end
return 1
