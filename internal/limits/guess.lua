-- One presentation of a secret from one client IP (internal/limits.Guesses.Try): counted and
-- judged in one step, so that N presented at once never get more than the limit judged.
-- KEYS[1] the counter; ARGV[1] the window (ms), ARGV[2] the limit.
-- Returns 0 when this one may be judged, else the milliseconds until the window ends.
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if n > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  return ttl
end
return 0
