package redisstore

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

var (
	//go:embed hold.lua
	holdSource string
	holdScript = redis.NewScript(holdSource)
)

var _ orders.ReviewStore = (*Store)(nil)

func decodeHold(h map[string]string) *orders.Hold {
	if h["reviewer"] == "" {
		return nil
	}
	round, _ := strconv.Atoi(h["round"])
	return &orders.Hold{Reviewer: h["reviewer"], Until: fromMS(h["until"]), Round: round}
}

// writeHold ends the hold with the round: when the order leaves submitted (a decision, a
// withdraw), or when the change dropped it.
func writeHold(ctx context.Context, p redis.Pipeliner, c *change) {
	if c.before.Hold == nil {
		return
	}
	if c.after.Hold == nil || c.after.Order.State != filing.StateSubmitted {
		p.Del(ctx, rediskeys.Hold(c.id))
		p.HDel(ctx, rediskeys.Queued(c.id), heldField)
	}
}

// queueBefore adds a round that this change submits to the review queue before the
// order's transaction, and queueAfter removes a round that it ends after it: the queue is
// not in the order's hash slot, so on Cluster it cannot join the order's MULTI. In this
// order a crash between the two steps can only leave an entry too many, never one too
// few, and Queue drops such entries when it meets them (docs/architecture.md, "Review
// queue").
func (s *Store) queueBefore(ctx context.Context, c *change) error {
	o := c.after.Order
	if o.State != filing.StateSubmitted || c.before.Order.State == filing.StateSubmitted {
		return nil
	}
	return s.rdb.ZAdd(ctx, rediskeys.ReviewQueue(s.scope), redis.Z{
		Score: float64(o.SubmittedAt.UnixMilli()), Member: rediskeys.ReviewQueueMember(o.ID, o.Round),
	}).Err()
}

func (s *Store) queueAfter(ctx context.Context, c *change) {
	b := c.before.Order
	if b.State != filing.StateSubmitted || c.after.Order.State == filing.StateSubmitted {
		return
	}
	// A failure leaves an entry Queue will drop; the change itself is committed.
	s.rdb.ZRem(ctx, rediskeys.ReviewQueue(s.scope), rediskeys.ReviewQueueMember(b.ID, b.Round))
}

// Hold runs the hold script: orders.DecideHold, atomically.
func (s *Store) Hold(ctx context.Context, req orders.HoldRequest) (_ orders.HoldResult, err error) {
	defer translate(&err)
	keys := []string{rediskeys.Order(req.OrderID), rediskeys.Hold(req.OrderID), rediskeys.Queued(req.OrderID)}
	vals, err := holdScript.Run(ctx, s.rdb, keys, string(req.Mode), req.Reviewer, req.Now.UnixMilli(), req.TTL.Milliseconds()).StringSlice()
	if err != nil {
		return orders.HoldResult{}, err
	}
	if len(vals) != 5 {
		return orders.HoldResult{}, fmt.Errorf("redisstore: hold script answered %d values", len(vals))
	}
	res := orders.HoldResult{Outcome: orders.HoldOutcome(vals[0]), State: filing.State(vals[4])}
	if vals[1] != "" {
		round, _ := strconv.Atoi(vals[3])
		res.Hold = &orders.Hold{Reviewer: vals[1], Until: fromMS(vals[2]), Round: round}
	}
	// An answer that changed the hold is acknowledged like any change.
	if res.Outcome == orders.HoldTaken || res.Outcome == orders.HoldReleased {
		if err := s.confirmKey(ctx, req.OrderID); err != nil {
			return orders.HoldResult{}, err
		}
	}
	return res, nil
}

// confirmKey waits for the replicas to hold what the master has of the order's slot.
func (s *Store) confirmKey(ctx context.Context, id string) error {
	c, err := s.oneConn(ctx, rediskeys.Order(id))
	if err != nil {
		return err
	}
	var wait *redis.Cmd
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		wait = s.confirm(ctx, p, id, true)
		return nil
	}); err != nil {
		return err
	}
	return s.confirmed(wait)
}

// dropQueued removes entries of rounds that have ended: a round is submitted once, so no
// later change can need them.
func (s *Store) dropQueued(ctx context.Context, members []any) {
	if len(members) > 0 {
		s.rdb.ZRem(ctx, rediskeys.ReviewQueue(s.scope), members...)
	}
}

// QueueStats reads the queue's size and oldest entry: two commands on one key, whatever
// the number waiting.
func (s *Store) QueueStats(ctx context.Context) (_ int64, _ time.Time, err error) {
	defer translate(&err)
	var card *redis.IntCmd
	var first *redis.ZSliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		card = p.ZCard(ctx, rediskeys.ReviewQueue(s.scope))
		first = p.ZRangeWithScores(ctx, rediskeys.ReviewQueue(s.scope), 0, 0)
		return nil
	}); err != nil {
		return 0, time.Time{}, err
	}
	if zs := first.Val(); len(zs) > 0 {
		return card.Val(), time.UnixMilli(int64(zs[0].Score)).UTC(), nil
	}
	return card.Val(), time.Time{}, nil
}
