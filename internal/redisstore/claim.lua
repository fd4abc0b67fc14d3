-- Claims a QR pairing at most once, in one round trip. Its Go twin, which the parity test
-- holds it to, is orders.DecideClaim: change both together.
-- KEYS: 1 pairing hash, 2 order JSON, 3 version counter, 4 retired code hashes
-- ARGV: 1 code hash, 2 device, 3 app version, 4 now (ms), 5 app provinces (comma separated),
--       6 event JSON before the version, 7 event JSON after the version, 8 channel,
--       9 device name
-- The pairing key already lives as long as a claimed pairing must (see pairingTTL), so the
-- claim sets no TTL; the caller reads the snapshot after a success.
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
if claimed then return {'reclaimed'} end

redis.call('HSET', KEYS[1], 'device', ARGV[2], 'app_version', ARGV[3], 'claimed_at', ARGV[4], 'device_name', ARGV[9])
local v = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[8], ARGV[6] .. v .. ARGV[7])
return {'ok'}
