-- The due index of the webhook outboxes (docs/architecture.md, "Webhook outbox"): order ID
-- → when its outbox next needs a deliverer. A held order's score is its lease's end plus
-- half a millisecond, so it never equals a due time written by a change, which are whole
-- milliseconds. settle moves the order anywhere (or removes it) only while the score is
-- still the deliverer's own lease; otherwise another deliverer or a change moved it since,
-- and settle may only bring it forward: every deliverer's next counts what others hold at
-- their lease's end, so the lowest of them is never later than what is really due.
-- KEYS: 1 the due index
-- ARGV: 1 op: claim|claim_one|settle
--   claim:     2 now (Unix ms), 3 lease score, 4 limit → the order IDs held
--   claim_one: 2 order ID, 3 lease score → 1 if held, 0 if the order is not in the index
--   settle:    2 order ID, 3 the lease score held, 4 next due (Unix ms; -1: nothing left),
--              5 now (Unix ms) → 1 if moved. A lease that has run out is no longer held:
--              a change may have been written since without moving the score (it was
--              already due), so only bringing it forward is safe then.
local op = ARGV[1]
if op == 'claim' then
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
  for i = 1, #ids do redis.call('ZADD', KEYS[1], ARGV[3], ids[i]) end
  return ids
elseif op == 'claim_one' then
  if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  return 1
elseif op == 'settle' then
  local cur = redis.call('ZSCORE', KEYS[1], ARGV[2])
  local nxt = tonumber(ARGV[4])
  if cur and tonumber(cur) == tonumber(ARGV[3]) and tonumber(cur) > tonumber(ARGV[5]) then
    if nxt < 0 then
      redis.call('ZREM', KEYS[1], ARGV[2])
    else
      redis.call('ZADD', KEYS[1], nxt, ARGV[2])
    end
    return 1
  end
  if cur and nxt >= 0 and nxt < tonumber(cur) then
    redis.call('ZADD', KEYS[1], nxt, ARGV[2])
    return 1
  end
  return 0
end
return redis.error_reply('unknown op')
