-- Appends one entry to an order's audit trail, only while the order exists, so that an
-- entry never outlives (or revives) an expired order. Changes are kept, every one, for the
-- order's life (the stream has no cap); reads are summarised, one counter per actor,
-- action, slot, hour and address in a hash beside the stream, so that no number of reads
-- can push a change out.
-- KEYS: 1 order JSON, 2 audit stream, 3 read summaries, 4.. the order's other keys that
--       expire with it
-- ARGV: 1 mode: "read" keeps the order's expiry (a read is no change; the stream gets the
--       order's TTL), "summary" is such a read counted in KEYS[3] under ARGV[3] instead of
--       appended, "change" starts the retention again (PERSIST while submitted),
--       2 retention (ms), 3 the summary's field, 4.. field, value, … of the stream entry
--       ("at" and its Unix ms first)
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local written = KEYS[2]
if ARGV[1] == 'summary' then
  -- The count under the field, the newest read's time (ms, ARGV[5]: the entry's "at")
  -- under "last" and the field.
  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
  local last = redis.call('HGET', KEYS[3], 'last' .. ARGV[3])
  if not last or tonumber(ARGV[5]) > tonumber(last) then
    redis.call('HSET', KEYS[3], 'last' .. ARGV[3], ARGV[5])
  end
  written = KEYS[3]
else
  local fields = {}
  for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('XADD', KEYS[2], '*', unpack(fields))
end
if ARGV[1] == 'change' then
  local persist = cjson.decode(raw).state == 'submitted'
  for i = 1, #KEYS do
    if persist then redis.call('PERSIST', KEYS[i]) else redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
  end
else
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', written, ttl) else redis.call('PERSIST', written) end
end
return 1
