-- Claims a QR pairing at most once, writes the claim's audit entry and answers with the
-- order's snapshot, all in one round trip: the caller pipelines its WAIT right after, so
-- that the confirmation covers the claim and its audit entry alike. Its Go twin, which the
-- parity test holds it to, is orders.DecideClaim: change both together.
-- KEYS: 1 pairing hash, 2 order JSON, 3 version counter, 4 retired code hashes,
--       5 audit stream, 6 audit read summaries, 7 materials, 8 hold, 9 webhook outbox,
--       10 queue summary (all in the order's slot)
-- ARGV: 1 code hash, 2 device, 3 app version, 4 now (ms), 5 app provinces (comma separated),
--       6 event JSON before the version, 7 event JSON after the version, 8 channel,
--       9 device name, 10 retention (ms), 11 the deletion watch's ID ('' without webhooks),
--       12 how much longer the outbox lives than the order (ms),
--       13.. field, value, … of the audit entry
-- Answers {outcome} for a refusal ({'invalid_state', state}), and for a claim or a reclaim
-- {outcome, order JSON, version, materials, pairing, hold} (the hashes as HGETALL gives them).
-- The pairing key already lives as long as a claimed pairing must (see pairingTTL), so the
-- claim sets no TTL on it.
local now = tonumber(ARGV[4])
local p = redis.call('HMGET', KEYS[1], 'code_hash', 'device', 'expires_at', 'expired')
if not p[1] or p[1] ~= ARGV[1] then
  -- A code this server issued whose pairing was replaced or revoked is told it expired
  -- (the page renewed its QR); only a code never issued is not found.
  local until_ms = tonumber(redis.call('HGET', KEYS[4], ARGV[1]))
  if until_ms and now < until_ms then return {'expired'} end
  return {'not_found'}
end
local claimed = p[2] and p[2] ~= ''
if claimed and p[2] ~= ARGV[2] then return {'already_claimed'} end
-- Claiming ends at expires_at, for a retry by the same device as for a first claim.
if p[4] == '1' or now >= tonumber(p[3]) then return {'expired'} end

local raw = redis.call('GET', KEYS[2])
if not raw then return {'not_found'} end
local order = cjson.decode(raw)
-- Open states, and changes_requested: the phone re-uploads the flagged slots.
if order.state ~= 'draft' and order.state ~= 'uploaded' and order.state ~= 'changes_requested' then return {'invalid_state', order.state} end
if order.upload_method ~= 'app' then return {'method'} end
if not string.find(',' .. ARGV[5] .. ',', ',' .. order.province .. ',', 1, true) then return {'province'} end

local entry = {}
for i = 13, #ARGV do entry[#entry + 1] = ARGV[i] end
local outcome, version
if claimed then
  -- A reclaim changes nothing but the trail: its entry keeps the order's expiry (as
  -- audit.lua's "read" mode).
  outcome = 'reclaimed'
  redis.call('XADD', KEYS[5], '*', unpack(entry))
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[5], ttl) else redis.call('PERSIST', KEYS[5]) end
  version = redis.call('GET', KEYS[3])
else
  outcome = 'ok'
  redis.call('HSET', KEYS[1], 'device', ARGV[2], 'app_version', ARGV[3], 'claimed_at', ARGV[4], 'device_name', ARGV[9])
  version = redis.call('INCR', KEYS[3])
  redis.call('PUBLISH', ARGV[8], ARGV[6] .. version .. ARGV[7])
  -- The claim is a change: its entry starts the retention of the order's keys again (as
  -- audit.lua's "change" mode; a claimable order is never submitted, so never PERSIST).
  redis.call('XADD', KEYS[5], '*', unpack(entry))
  -- The queue summary (10) is one of them: it must not lapse before its order.
  for _, k in ipairs({KEYS[2], KEYS[5], KEYS[6], KEYS[3], KEYS[7], KEYS[10]}) do redis.call('PEXPIRE', k, ARGV[10]) end
  -- The deletion watch follows every change (as the write path's writeOutbox): the claim's
  -- version (the order JSON, so its state, round and owner, is unchanged), due just after
  -- the expiry set above; the outbox outlives the order by its margin.
  if ARGV[11] ~= '' then
    local w = redis.call('HGET', KEYS[9], ARGV[11])
    if w then
      local d = cjson.decode(w)
      if d.status == 'watch' then
        d.version = version
        d.next_at = now + tonumber(ARGV[10]) + 1000
        redis.call('HSET', KEYS[9], ARGV[11], cjson.encode(d))
        redis.call('PEXPIRE', KEYS[9], tonumber(ARGV[10]) + tonumber(ARGV[12]))
      end
    end
  end
end
-- The snapshot the phone is answered with. GET gives false for a missing version, which
-- keeps its place in the table (nil would end it).
return {outcome, raw, version, redis.call('HGETALL', KEYS[7]), redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[8])}
