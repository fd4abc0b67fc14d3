-- The per-IP counter of claims of codes that matched no pairing, in a window that starts
-- with the first guess. Time comes from the caller, so no rule rests on a Redis TTL alone.
-- KEYS: 1 counter hash. ARGV: 1 mode ("check" or "record"), 2 now (ms), 3 window (ms), 4 limit
local now, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local h = redis.call('HMGET', KEYS[1], 'count', 'start')
local count, start = tonumber(h[1]) or 0, tonumber(h[2])
if not start or now - start >= window then count, start = 0, now end
if ARGV[1] == 'check' then
  if count >= tonumber(ARGV[4]) then return start + window - now end
  return 0
end
redis.call('HSET', KEYS[1], 'count', count + 1, 'start', start)
redis.call('PEXPIRE', KEYS[1], start + window - now)
return 0
