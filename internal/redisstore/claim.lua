-- Claims a QR pairing at most once, in one round trip.
-- KEYS: 1 pairing hash, 2 order JSON, 3 version counter
-- ARGV: 1 code hash, 2 device, 3 app version, 4 now (ms), 5 app provinces (comma separated),
--       6 event JSON before the version, 7 event JSON after the version, 8 channel
-- The pairing key already lives as long as a claimed pairing must (see pairingTTL), so the
-- claim sets no TTL; the caller reads the snapshot after a success.
local p = redis.call('HMGET', KEYS[1], 'code_hash', 'device', 'expires_at', 'expired')
if not p[1] or p[1] ~= ARGV[1] then return {'not_found'} end
if p[2] and p[2] ~= '' then
  if p[2] == ARGV[2] then return {'reclaimed'} end
  return {'already_claimed'}
end
if p[4] == '1' or tonumber(ARGV[4]) >= tonumber(p[3]) then return {'expired'} end

local raw = redis.call('GET', KEYS[2])
if not raw then return {'not_found'} end
local order = cjson.decode(raw)
if order.state ~= 'draft' and order.state ~= 'uploaded' then return {'invalid_state', order.state} end
if order.upload_method ~= 'app' then return {'method'} end
if not string.find(',' .. ARGV[5] .. ',', ',' .. order.province .. ',', 1, true) then return {'province'} end

redis.call('HSET', KEYS[1], 'device', ARGV[2], 'app_version', ARGV[3], 'claimed_at', ARGV[4])
local v = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[8], ARGV[6] .. v .. ARGV[7])
return {'ok'}
