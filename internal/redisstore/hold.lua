-- A reviewer's hold on an order, decided atomically. Its Go twin, which the parity test
-- holds it to, is orders.DecideHold: change both together.
-- KEYS: 1 order JSON, 2 hold hash, 3 the order's queue summary (its field h copies the
-- hold as "reviewer\nuntil\nround" for the queue page, redisstore.decodeHeld; n numbers
-- its writes, so that their copies in the queue's slot keep the newest)
-- ARGV: 1 mode (take, renew, release), 2 reviewer, 3 now (ms), 4 hold ttl (ms)
-- Returns {outcome, reviewer, until, round, state, summary, hold copy, n}: the hold as it
-- stands afterwards, then the summary hash as it stands, for the queue's copy.
local raw = redis.call('GET', KEYS[1])
if not raw then return {'not_found', '', '', '', '', '', '', ''} end
local order = cjson.decode(raw)
local state = order.state
local round = tonumber(order.round) or 0
local now = tonumber(ARGV[3])
local h = redis.call('HMGET', KEYS[2], 'reviewer', 'until', 'round')
local has = h[1] and h[1] ~= ''
local mine = has and h[1] == ARGV[2]
local active = has and now < tonumber(h[2])
local same_round = has and tonumber(h[3]) == round
local function with_summary(a)
  local q = redis.call('HMGET', KEYS[3], 'q', 'h', 'n')
  a[6], a[7], a[8] = q[1] or '', q[2] or '', q[3] or '0'
  return a
end
local function answer(outcome)
  if has then return with_summary({outcome, h[1], h[2], h[3], state}) end
  return with_summary({outcome, '', '', '', state})
end
local function take()
  local ttl = tonumber(ARGV[4])
  local until_ms = now + ttl
  redis.call('HSET', KEYS[2], 'reviewer', ARGV[2], 'until', until_ms, 'round', round)
  -- The time decides (until); the key's own expiry only tidies up after it.
  redis.call('PEXPIRE', KEYS[2], ttl + 60000)
  redis.call('HSET', KEYS[3], 'h', ARGV[2] .. '\n' .. until_ms .. '\n' .. round)
  redis.call('HINCRBY', KEYS[3], 'n', 1)
  return with_summary({'taken', ARGV[2], tostring(until_ms), tostring(round), state})
end
if ARGV[1] == 'release' then
  if mine then
    redis.call('DEL', KEYS[2])
    redis.call('HDEL', KEYS[3], 'h')
    redis.call('HINCRBY', KEYS[3], 'n', 1)
    return with_summary({'released', '', '', '', state})
  end
  return answer('none')
end
if ARGV[1] == 'renew' then
  if state == 'submitted' and mine and active and same_round then return take() end
  return answer('none')
end
if state ~= 'submitted' then return answer('invalid_state') end
if active and not mine and same_round then return answer('held_by_other') end
return take()
