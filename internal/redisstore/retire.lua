-- Retires a pairing's code: claims of it answer pairing_expired until the given time.
-- Entries past their time are pruned here, so the hash stays as small as the pairing rate
-- allows, and the key lives as long as its latest entry.
-- KEYS: 1 retired hash. ARGV: 1 code hash, 2 until (ms), 3 now (ms)
local now = tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if tonumber(all[i + 1]) <= now then redis.call('HDEL', KEYS[1], all[i]) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[2]) - now
if ttl < 1 then ttl = 1 end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
