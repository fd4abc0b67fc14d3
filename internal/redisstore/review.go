package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	keys := []string{rediskeys.Order(req.OrderID), rediskeys.Hold(req.OrderID)}
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

// queued is what the queue reads of an order: nothing sealed, so nothing to open.
type queued struct {
	State       filing.State       `json:"state"`
	Round       int                `json:"round"`
	SubjectType filing.SubjectType `json:"subject_type"`
	Province    string             `json:"province"`
	SubjectName string             `json:"subject_name"`
	Domains     []string           `json:"domains"`
	SubmittedAt time.Time          `json:"submitted_at"`
}

// queueCursor is a position in the queue: the last entry answered.
type queueCursor struct {
	score  int64
	member string
}

func (c queueCursor) String() string { return strconv.FormatInt(c.score, 10) + "." + c.member }

func parseQueueCursor(s string) (queueCursor, error) {
	score, member, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(score, 10, 64)
	if _, _, valid := rediskeys.ParseReviewQueueMember(member); !ok || err != nil || !valid {
		return queueCursor{}, filing.ErrInvalidRequest.WithMessage("Not a cursor of this queue.", "分页参数不正确。").
			WithDetails(map[string]any{"field": "cursor"})
	}
	return queueCursor{n, member}, nil
}

// maxQueueReads bounds the batches one page may read past entries it drops.
const maxQueueReads = 8

// Queue answers a page of the review queue from the index: each entry's order and hold
// are read (one pipelined round trip a batch) to fill the page and to tell a live entry
// from one a crash left behind, which is removed. An entry of a round whose transaction
// has not committed yet (its order still at the round before) is skipped and kept.
func (s *Store) Queue(ctx context.Context, cursor string, limit int, now time.Time) (_ orders.QueuePage, err error) {
	defer translate(&err)
	page := orders.QueuePage{Orders: []orders.QueueEntry{}}
	var after *queueCursor
	if cursor != "" {
		c, err := parseQueueCursor(cursor)
		if err != nil {
			return page, err
		}
		after = &c
	}
	min := "-inf"
	if after != nil {
		min = strconv.FormatInt(after.score, 10)
	}
	var last queueCursor
	offset := int64(0)
	for range maxQueueReads {
		zs, err := s.rdb.ZRangeByScoreWithScores(ctx, rediskeys.ReviewQueue(s.scope), &redis.ZRangeBy{
			Min: min, Max: "+inf", Offset: offset, Count: int64(limit + 1),
		}).Result()
		if err != nil {
			return page, err
		}
		if len(zs) == 0 {
			break
		}
		offset += int64(len(zs))
		type cand struct {
			member string
			id     string
			round  int
			score  int64
			order  *redis.StringCmd
			hold   *redis.MapStringStringCmd
		}
		var cands []*cand
		for _, z := range zs {
			m, _ := z.Member.(string)
			score := int64(z.Score)
			if after != nil && score == after.score && m <= after.member {
				continue // at or before the cursor among entries of the same time
			}
			id, round, ok := rediskeys.ParseReviewQueueMember(m)
			if !ok {
				continue
			}
			cands = append(cands, &cand{member: m, id: id, round: round, score: score})
		}
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range cands {
				c.order = p.Get(ctx, rediskeys.Order(c.id))
				c.hold = p.HGetAll(ctx, rediskeys.Hold(c.id))
			}
			return nil
		}); err != nil && !errors.Is(err, redis.Nil) {
			return page, err
		}
		var dead []any
		for _, c := range cands {
			raw, err := c.order.Bytes()
			var q queued
			switch {
			case errors.Is(err, redis.Nil):
				dead = append(dead, c.member)
				continue
			case err != nil:
				return page, err
			}
			if err := json.Unmarshal(raw, &q); err != nil {
				return page, fmt.Errorf("redisstore: queued order %s: %w", c.id, err)
			}
			if q.Round > c.round || q.Round == c.round && q.State != filing.StateSubmitted {
				dead = append(dead, c.member) // that round has ended
				continue
			}
			if q.Round < c.round {
				continue // its submission has not committed (yet)
			}
			if len(page.Orders) == limit {
				cur := last.String()
				page.NextCursor = &cur
				s.dropQueued(ctx, dead)
				return page, nil
			}
			e := orders.QueueEntry{ID: c.id, SubjectType: q.SubjectType, Province: q.Province, SubjectName: q.SubjectName,
				Domains: q.Domains, Round: q.Round, SubmittedAt: q.SubmittedAt, WaitingS: int64(max(now.Sub(q.SubmittedAt), 0) / time.Second)}
			if e.Domains == nil {
				e.Domains = []string{}
			}
			if h := decodeHold(c.hold.Val()); h.Active(now) && h.Round == q.Round {
				e.HeldBy, e.HeldUntil = &h.Reviewer, &h.Until
			}
			page.Orders = append(page.Orders, e)
			last = queueCursor{c.score, c.member}
		}
		s.dropQueued(ctx, dead)
		if len(zs) < limit+1 {
			break
		}
	}
	return page, nil
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
