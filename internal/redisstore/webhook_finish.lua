-- Records the outcome of an attempt (docs/architecture.md, "Webhook outbox"). One slot.
-- KEYS: 1 the outbox hash
-- ARGV: 1 delivery ID, 2 the lease it was taken with, 3 outcome: delivered|failed|dead,
--       4 next attempt (Unix ms, failed), 5 last error
-- Returns when the outbox is due again (-1: nothing left), as webhook_take.lua.
-- A delivered one is removed whoever held it; a failure is recorded only by the deliverer
-- that still holds it (one whose lease ran out has been overtaken by another).
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local d = cjson.decode(raw)
  if ARGV[3] == 'delivered' then
    redis.call('HDEL', KEYS[1], ARGV[1])
  elseif d.lease == tonumber(ARGV[2]) and (d.status == 'pending' or d.status == 'failed') then
    d.attempts = d.attempts + 1
    d.lease = 0
    d.last_error = ARGV[5]
    if ARGV[3] == 'dead' then
      d.status = 'dead'
      d.next_at = 0
    else
      d.status = 'failed'
      d.next_at = tonumber(ARGV[4])
    end
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(d))
  end
end
local nextAt = -1
local vals = redis.call('HVALS', KEYS[1])
for i = 1, #vals do
  local d = cjson.decode(vals[i])
  local t = -1
  if d.status == 'pending' or d.status == 'failed' then
    t = math.max(d.next_at, d.lease)
  elseif d.status == 'watch' then
    t = d.next_at
  end
  if t >= 0 and (nextAt < 0 or t < nextAt) then nextAt = t end
end
return nextAt
