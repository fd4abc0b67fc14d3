-- Marks a change of an order that touches the review queue, before the order's
-- transaction (redisstore.Store.queueBefore): the order's writing count goes up, so that
-- pages read the order itself until queue_copy.lua has copied the change; a change that
-- submits a round also adds the round's entry; and the queue's stamp is set anew, so that
-- no instance answers a page it cached before the change. The queue, its copies, the
-- counts and the stamp share one hash slot, so this is one step on Cluster too.
-- KEYS: 1 writing counts (hash by order ID), 2 the queue (sorted set), 3 the stamp
-- ARGV: 1 order ID, 2 the member to add ('' none), 3 its score, 4 the new stamp
-- With replicas configured the caller confirms the mark (WAIT) before the order's change:
-- a failover must not keep the change and lose the mark that tells pages to read it.
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2]) end
redis.call('SET', KEYS[3], ARGV[4])
return {1}
