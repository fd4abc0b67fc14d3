-- Takes an order's due webhook deliveries for a deliverer (docs/architecture.md, "Webhook
-- outbox"). One slot: the order's.
-- KEYS: 1 the outbox hash, 2 the order JSON, 3 the order's version; on a single Redis or
--       Sentinel also 4 the listed index (on Cluster another slot: the caller writes it)
-- ARGV: 1 now (Unix ms), 2 lease (ms), 3 at most this many, 4 recheck (ms) of the deletion
--       watch of an order that does not expire (submitted), 5 how long the outbox outlives
--       the order (ms), 6 the order ID
-- Returns {next, listed, turned, delivery JSON…}: next is when the outbox is due again once
-- the taken ones are settled (-1: nothing left), counting a held delivery at its lease's
-- end; listed the earliest next attempt of its deliveries (pending or failed; -1: none),
-- its score in the listed index; turned is 1 if the deletion watch became a delivery.
--
-- The deletion watch: while the order exists it is moved to just after the order's expiry
-- (which every change pushes back) and takes the order's latest state; once the order is
-- gone it becomes a pending order.deleted.
local now, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local recheck, outlive = tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {0, 0, 0}
local nextAt, listed, turned = -1, -1, 0
local function due(t)
  if nextAt < 0 or t < nextAt then nextAt = t end
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local d = cjson.decode(all[i + 1])
  local changed = false
  if d.status == 'watch' and d.next_at <= now then
    local raw = redis.call('GET', KEYS[2])
    if raw then
      local o = cjson.decode(raw)
      d.state = o.state
      if type(o.round) == 'number' then d.round = o.round end
      if type(o.owner_id) == 'string' then d.owner_id = o.owner_id end
      d.version = tonumber(redis.call('GET', KEYS[3]) or d.version)
      local ttl = redis.call('PTTL', KEYS[2])
      if ttl > 0 then
        d.next_at = now + ttl + 1000
        redis.call('PEXPIRE', KEYS[1], ttl + outlive)
      else
        d.next_at = now + recheck
        redis.call('PEXPIRE', KEYS[1], recheck + outlive)
      end
    else
      d.status = 'pending'
      d.at = math.min(now, d.next_at - 1000)
      d.since = now
      d.next_at = now
      d.lease = 0
      turned = 1
      redis.call('PEXPIRE', KEYS[1], outlive)
    end
    changed = true
  end
  if (d.status == 'pending' or d.status == 'failed') and d.next_at <= now and d.lease <= now and #out < limit + 3 then
    d.lease = now + lease
    changed = true
    out[#out + 1] = cjson.encode(d)
  end
  if d.status == 'pending' or d.status == 'failed' then
    due(math.max(d.next_at, d.lease))
    if listed < 0 or d.next_at < listed then listed = d.next_at end
  elseif d.status == 'watch' then
    due(d.next_at)
  end
  if changed then redis.call('HSET', KEYS[1], d.id, cjson.encode(d)) end
end
out[1], out[2], out[3] = nextAt, listed, turned
if KEYS[4] then
  if listed < 0 then
    redis.call('ZREM', KEYS[4], ARGV[6])
  else
    redis.call('ZADD', KEYS[4], listed, ARGV[6])
  end
end
return out
