package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/rediskeys"
)

// Replication is how many replicas must hold a write before it is acknowledged
// (BEIANSCAN_REDIS_MIN_REPLICAS, BEIANSCAN_REDIS_WAIT_TIMEOUT). Redis replicates
// asynchronously: without this, a failover right after an answer can lose what the answer
// acknowledged (issue 11 saw 4 of 16 uploads lost). WAIT makes the master wait until N
// replicas have the client's writes; Sentinel then promotes a replica that has them.
// WAITAOF (Redis 7.2) would add the fsync on each side; the Redis of this project's
// Debian is 7.0, so WAIT it is, and each node's own appendfsync covers the disk.
type Replication struct {
	// MinReplicas is N; 0 (the default) confirms nothing.
	MinReplicas int
	// Timeout bounds the wait; default DefaultWaitTimeout.
	Timeout time.Duration
}

// DefaultWaitTimeout is BEIANSCAN_REDIS_WAIT_TIMEOUT's default: below go-redis's default
// read timeout (3s), so a WAIT that times out answers before the client gives up.
const DefaultWaitTimeout = time.Second

// SetReplication makes every acknowledged change wait for r. Call it before use.
func (s *Store) SetReplication(r Replication) {
	r.Timeout = cmp.Or(r.Timeout, DefaultWaitTimeout)
	s.repl = r
}

// confirm appends WAIT to p, which must run on the connection that made the writes to be
// confirmed: WAIT waits for the replication offset of the calling client's own last write,
// and go-redis pools connections, so a WAIT sent on its own may land on a connection that
// wrote nothing (and return at once). A pipeline, a Tx or a Conn keeps to one connection.
// With bump, the pipeline first makes a write of its own (a PUBLISH to a channel nobody
// reads, which every replica receives), so that the WAIT covers everything the master had
// when the caller read it: an answer that reports state without changing it (a retried
// claim, an unchanged update) then also confirms the write of the earlier attempt that
// produced the state, which may have answered 503 and never reached a replica.
// It returns nil when no confirmation is configured; pass its result to confirmed.
func (s *Store) confirm(ctx context.Context, p redis.Pipeliner, orderID string, bump bool) *redis.Cmd {
	if s.repl.MinReplicas <= 0 {
		return nil
	}
	if bump {
		p.Publish(ctx, rediskeys.Sync(orderID), "")
	}
	ms := max(s.repl.Timeout.Milliseconds(), 1) // WAIT with 0 would block for ever
	return p.Do(ctx, "wait", s.repl.MinReplicas, ms)
}

// confirmed checks the WAIT that confirm appended: a write that fewer than N replicas
// acknowledged in time is not acknowledged to the client (503, and its retry is safe).
func (s *Store) confirmed(cmd *redis.Cmd) error {
	if cmd == nil {
		return nil
	}
	n, err := cmd.Int64()
	if err != nil {
		return err
	}
	if n < int64(s.repl.MinReplicas) {
		return fmt.Errorf("%w: %d of %d", errNotConfirmed, n, s.repl.MinReplicas)
	}
	return nil
}

// confirmOn sends confirm's WAIT alone on c (a Tx, whose connection made the writes).
func (s *Store) confirmOn(ctx context.Context, c reader, orderID string, bump bool) error {
	if s.repl.MinReplicas <= 0 {
		return nil
	}
	var wait *redis.Cmd
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		wait = s.confirm(ctx, p, orderID, bump)
		return nil
	}); err != nil {
		return err
	}
	return s.confirmed(wait)
}

// runConfirmed runs a script, what also queues (reads, which the WAIT need not cover; nil:
// nothing) and confirm's WAIT in one pipeline on one connection. Script.Run cannot be used:
// its EVALSHA→EVAL fallback sends each on whichever connection the pool gives.
func (s *Store) runConfirmed(ctx context.Context, script *redis.Script, keys []string, orderID string, bump bool, also func(redis.Pipeliner), args ...any) ([]any, error) {
	c, err := s.oneConn(ctx, keys[0])
	if err != nil {
		return nil, err
	}
	run := func(eval func(p redis.Pipeliner) *redis.Cmd) ([]any, error) {
		var res *redis.Cmd
		var wait *redis.Cmd
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			res = eval(p)
			if also != nil {
				also(p)
			}
			wait = s.confirm(ctx, p, orderID, bump)
			return nil
		})
		if err := res.Err(); err != nil {
			return nil, err
		}
		// A missing key that also reads is no failure of the pipeline.
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		if err := s.confirmed(wait); err != nil {
			return nil, err
		}
		return res.Slice()
	}
	out, err := run(func(p redis.Pipeliner) *redis.Cmd { return script.EvalSha(ctx, p, keys, args...) })
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		out, err = run(func(p redis.Pipeliner) *redis.Cmd { return script.Eval(ctx, p, keys, args...) })
	}
	return out, err
}
