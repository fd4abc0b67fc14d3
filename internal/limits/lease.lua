-- Takes one of an order's websocket places if one is free. A place is a lease: member =
-- instance/connection, score = its expiry (Unix ms, from the caller's clock), renewed by the
-- instance while the connection lives; leases past their expiry (an instance that died) are
-- dropped here, before counting. Counting and taking are one step, so parallel connections
-- cannot overshoot the limit.
-- KEYS: 1 sorted set. ARGV: 1 now (ms), 2 expiry (ms), 3 limit, 4 member
-- Returns 0 when taken, else the ms until the first lease would lapse (at least 1).
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(tonumber(first[2]) - now, 1)
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[2]) - now, 1))
return 0
