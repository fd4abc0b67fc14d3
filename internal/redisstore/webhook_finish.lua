-- Records the outcome of an attempt (docs/architecture.md, "Webhook outbox"). One slot.
-- KEYS: 1 the outbox hash; on a single Redis or Sentinel also 2 the listed index (on
--       Cluster another slot: the caller writes it)
-- ARGV: 1 delivery ID, 2 the lease it was taken with, 3 outcome: delivered|failed|dead,
--       4 next attempt (Unix ms, failed), 5 last error, 6 the order ID
-- Returns {next, listed}, as webhook_take.lua: when the outbox is due again (-1: nothing
-- left) and the earliest next attempt of its pending or failed deliveries (-1: none).
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
local nextAt, listed = -1, -1
local vals = redis.call('HVALS', KEYS[1])
for i = 1, #vals do
  local d = cjson.decode(vals[i])
  local t = -1
  if d.status == 'pending' or d.status == 'failed' then
    t = math.max(d.next_at, d.lease)
    if listed < 0 or d.next_at < listed then listed = d.next_at end
  elseif d.status == 'watch' then
    t = d.next_at
  end
  if t >= 0 and (nextAt < 0 or t < nextAt) then nextAt = t end
end
if KEYS[2] then
  if listed < 0 then
    redis.call('ZREM', KEYS[2], ARGV[6])
  else
    redis.call('ZADD', KEYS[2], listed, ARGV[6])
  end
end
return {nextAt, listed}
