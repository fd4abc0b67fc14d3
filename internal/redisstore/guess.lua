-- Counts one claim of a code this server never issued, and refuses it if the client IP is
-- past its limit, in one step: parallel guesses cannot all read "under the limit" before any
-- of them counts (check-then-record let 40 parallel guesses through nine 404s at limit 5).
-- The window starts with the first guess. Time comes from the caller, so no rule rests on a
-- Redis TTL alone; the TTL only tidies up.
-- KEYS: 1 counter hash. ARGV: 1 now (ms), 2 window (ms), 3 limit
-- Returns 0 when the guess is counted (answer 404), else the ms until the window ends (429).
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local h = redis.call('HMGET', KEYS[1], 'count', 'start')
local count, start = tonumber(h[1]) or 0, tonumber(h[2])
if not start or now - start >= window then count, start = 0, now end
if count >= limit then return math.max(start + window - now, 1) end
redis.call('HSET', KEYS[1], 'count', count + 1, 'start', start)
redis.call('PEXPIRE', KEYS[1], math.max(start + window - now, 1))
return 0
