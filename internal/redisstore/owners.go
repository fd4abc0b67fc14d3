package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

// The owner index (docs/architecture.md, "Owners come back") lists an owner's orders,
// newest created first: a sorted set per owner, order ID → creation time. It has the
// owner's hash tag, so on Cluster it cannot join an order's MULTI; it is written beside
// the order's transactions as the review queue is, before them, so that a crash leaves an
// entry too many and never one too few, and the reader drops the entries of orders that
// are gone.
//
// Its expiry follows its orders: every write of an owned order (creation included) first
// makes the index live at least as long as the order will (PEXPIRE NX then GT, which only
// ever lengthen it), and a submitted order, which does not expire, gives it ownerForever.
// Nothing but the reader shortens it: once no order of the owner is submitted any more,
// it puts the index back on the retention.
const (
	// ownerMargin covers the time between the index's write and the order's EXEC, which
	// sets the order's own expiry a moment later.
	ownerMargin = time.Minute
	// ownerForever stands for "while an order is submitted": a TTL longer than any
	// retention, so that PEXPIRE GT keeps treating it as the longest.
	ownerForever = 100 * 365 * 24 * time.Hour
	// ownerCreateWindow is how long after an order's creation time its first write may
	// still be sent; a creation that took longer is refused, so that ownerGrace holds.
	ownerCreateWindow = time.Minute
	// ownerGrace is how old an entry must be before the reader may take a missing order for
	// a gone one rather than a creation not yet written: ownerCreateWindow plus room for
	// clocks of instances that disagree.
	ownerGrace = 10 * time.Minute
)

var _ orders.OwnerIndex = (*Store)(nil)

func (s *Store) ownerKey(ownerID string) string {
	sum := sha256.Sum256([]byte(ownerID))
	return rediskeys.OwnerOrders(s.scope, hex.EncodeToString(sum[:]))
}

// ownerBefore indexes an owned order before a write of it: the entry (kept as it is when
// there) and an expiry at least keep (0: submitted, ownerForever) from now.
func (s *Store) ownerBefore(ctx context.Context, o *filing.Order, keep time.Duration) error {
	if o.OwnerID == "" {
		return nil
	}
	ttl := keep + ownerMargin
	if keep == 0 {
		ttl = ownerForever
	}
	key, ms := s.ownerKey(o.OwnerID), ttl.Milliseconds()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAddNX(ctx, key, redis.Z{Score: float64(o.CreatedAt.UnixMilli()), Member: o.ID})
		// NX gives a new index its first expiry; GT lengthens one that has one. Neither
		// shortens, so a concurrent write for a longer-lived order is never undone.
		p.Do(ctx, "pexpire", key, ms, "nx")
		p.Do(ctx, "pexpire", key, ms, "gt")
		return nil
	})
	return err
}

// ownerCreateCheck refuses to write a creation that comes later than ownerCreateWindow
// after its creation time (a stalled request): the reader would by then be free to drop
// its index entry.
func (s *Store) ownerCreateCheck(o *filing.Order) error {
	if o.OwnerID != "" && s.now().Sub(o.CreatedAt) > ownerCreateWindow {
		return fmt.Errorf("%w: creation of %s came too late for the owner index", filing.ErrUnavailable, o.ID)
	}
	return nil
}

// OwnerOrders returns the owner's orders, newest created first, at most limit. Entries
// whose order is gone (and older than ownerGrace) are removed; younger ones are skipped,
// as a creation that may still be written. When the whole index was read and none of its
// orders is submitted, an index still marked ownerForever is put back on the retention.
func (s *Store) OwnerOrders(ctx context.Context, ownerID string, limit int) (_ []*filing.Order, err error) {
	defer translate(&err)
	key := s.ownerKey(ownerID)
	out := []*filing.Order{}
	now := s.now()
	batch := int64(limit) + 1
	var start int64
	// whole: every entry of the index was read and every live order answered.
	whole, submitted := false, false
	var pttl time.Duration
	for range maxQueueReads {
		var zs *redis.ZSliceCmd
		var ttl *redis.DurationCmd
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			zs = p.ZRevRangeWithScores(ctx, key, start, start+batch-1)
			ttl = p.PTTL(ctx, key)
			return nil
		}); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		pttl = ttl.Val()
		entries := zs.Val()
		gets := make([]*redis.StringCmd, len(entries))
		if len(entries) > 0 {
			if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, z := range entries {
					id, _ := z.Member.(string)
					gets[i] = p.Get(ctx, rediskeys.Order(id))
				}
				return nil
			}); err != nil && !errors.Is(err, redis.Nil) {
				return nil, err
			}
		}
		var dead []any
		full := false
		for i, z := range entries {
			raw, err := gets[i].Bytes()
			switch {
			case errors.Is(err, redis.Nil):
				if now.Sub(time.UnixMilli(int64(z.Score))) > ownerGrace {
					dead = append(dead, z.Member)
				}
				continue
			case err != nil:
				return nil, err
			}
			var o filing.Order
			if err := json.Unmarshal(raw, &o); err != nil {
				return nil, fmt.Errorf("redisstore: owned order %v: %w", z.Member, err)
			}
			if o.OwnerID != ownerID {
				// Not this owner's: only damage could put it here. Never shown, and the
				// entry goes.
				dead = append(dead, z.Member)
				continue
			}
			if o.State == filing.StateSubmitted {
				submitted = true
			}
			if len(out) == limit {
				full = true
				continue
			}
			// Nothing sealed leaves the store: the people are not part of the list.
			o.SubjectLeader, o.WebsiteLeader = filing.Person{}, filing.Person{}
			out = append(out, &o)
		}
		if len(dead) > 0 {
			// A dropped entry's order is gone for good: order IDs are never reused.
			s.rdb.ZRem(ctx, key, dead...)
		}
		start += int64(len(entries) - len(dead))
		if int64(len(entries)) < batch {
			whole = !full
			break
		}
		if full || len(out) == limit {
			break
		}
	}
	if whole && !submitted && pttl > s.retention+ownerMargin {
		// No order of the owner waits for review any more: the index lives as long as an
		// order changed now would. A submission racing this read lengthens it again with
		// its next write (docs/architecture.md).
		s.rdb.Do(ctx, "pexpire", key, (s.retention + ownerMargin).Milliseconds())
	}
	return out, nil
}
