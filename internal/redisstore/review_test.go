package redisstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// TestHoldScriptParity holds hold.lua to orders.DecideHold over every mode, state, holder,
// hold time and round, and checks what the script leaves stored.
func TestHoldScriptParity(t *testing.T) {
	rdb := redistest.Shared(t)
	s := New(rdb, 30*time.Minute)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond).UTC()
	const ttl = 15 * time.Minute
	counts := map[orders.HoldOutcome]int{}
	for _, mode := range []orders.HoldMode{orders.HoldTake, orders.HoldRenew, orders.HoldRelease} {
		for _, state := range append(filing.States(), "") {
			for _, holder := range []string{"", "alice", "bob"} {
				for _, lapsed := range []bool{false, true} {
					for _, oldRound := range []bool{false, true} {
						if holder == "" && (lapsed || oldRound) {
							continue
						}
						id := orderID()
						const round = 2
						if state != "" {
							o := &filing.Order{ID: id, State: state, Round: round, Province: "CN-GD", Version: 1}
							if err := s.CreateOrder(ctx, o, orders.AuditEntry{}); err != nil {
								t.Fatal(err)
							}
						}
						var cur *orders.Hold
						if holder != "" {
							cur = &orders.Hold{Reviewer: holder, Until: now.Add(time.Minute), Round: round}
							if lapsed {
								cur.Until = now
							}
							if oldRound {
								cur.Round = round - 1
							}
							if err := rdb.HSet(ctx, rediskeys.Hold(id), "reviewer", cur.Reviewer, "until", cur.Until.UnixMilli(), "round", cur.Round).Err(); err != nil {
								t.Fatal(err)
							}
						}
						req := orders.HoldRequest{OrderID: id, Reviewer: "alice", Mode: mode, Now: now, TTL: ttl}
						want := orders.DecideHold(req, state, round, cur)
						got, err := s.Hold(ctx, req)
						if err != nil {
							t.Fatal(err)
						}
						name := fmt.Sprintf("%s state=%q holder=%q lapsed=%v old=%v", mode, state, holder, lapsed, oldRound)
						if got.Outcome != want {
							t.Errorf("%s: script %s, DecideHold %s", name, got.Outcome, want)
							continue
						}
						counts[want]++
						stored, _ := rdb.HGetAll(ctx, rediskeys.Hold(id)).Result()
						h := decodeHold(stored)
						switch want {
						case orders.HoldTaken:
							if h == nil || h.Reviewer != "alice" || !h.Until.Equal(now.Add(ttl)) || h.Round != round {
								t.Errorf("%s: stored %+v", name, h)
							}
						case orders.HoldReleased:
							if h != nil {
								t.Errorf("%s: hold left %+v", name, h)
							}
						default:
							if (h == nil) != (cur == nil) || h != nil && *h != *cur {
								t.Errorf("%s: hold changed to %+v from %+v", name, h, cur)
							}
						}
						if want == orders.HoldByOther && (got.Hold == nil || got.Hold.Reviewer != "bob") {
							t.Errorf("%s: answered hold %+v", name, got.Hold)
						}
					}
				}
			}
		}
	}
	for _, o := range []orders.HoldOutcome{orders.HoldTaken, orders.HoldKept, orders.HoldReleased, orders.HoldByOther, orders.HoldInvalidState, orders.HoldNotFound} {
		if counts[o] == 0 {
			t.Errorf("no case decided %s", o)
		}
	}
}

// TestHoldRace: reviewers racing for one order, exactly one gets it.
func TestHoldRace(t *testing.T) {
	rdb := redistest.Shared(t)
	s := New(rdb, 30*time.Minute)
	ctx := context.Background()
	id := orderID()
	if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateSubmitted, Round: 1, Version: 1}, orders.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var wg sync.WaitGroup
	results := make([]orders.HoldOutcome, 8)
	for i := range results {
		wg.Go(func() {
			r, err := s.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: fmt.Sprintf("r%d", i), Mode: orders.HoldTake, Now: now, TTL: time.Minute})
			if err != nil {
				t.Error(err)
			}
			results[i] = r.Outcome
		})
	}
	wg.Wait()
	won := 0
	for _, r := range results {
		if r == orders.HoldTaken {
			won++
		} else if r != orders.HoldByOther {
			t.Errorf("outcome %s", r)
		}
	}
	if won != 1 {
		t.Errorf("%d reviewers hold the order, want 1 (%v)", won, results)
	}
}

// TestQueueIndex: the index follows each state change, pages oldest first, and an entry
// a crash left behind is dropped when the queue meets it.
func TestQueueIndex(t *testing.T) {
	rdb := redistest.Shared(t)
	scope := orderID()
	s := New(rdb, 30*time.Minute, WithScope(scope))
	ctx := context.Background()
	base := time.Now().Truncate(time.Millisecond).UTC()
	var ids []string
	for i := range 5 {
		id := orderID()
		ids = append(ids, id)
		if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateUploaded, Version: 1, SubjectName: "n"}, orders.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
			sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, base.Add(time.Duration(i)*time.Second)
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	cursor := ""
	for range 5 {
		p, err := s.Queue(ctx, cursor, 2, base.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Orders {
			got = append(got, e.ID)
			if e.Round != 1 || e.WaitingS < 55 || e.HeldBy != nil {
				t.Errorf("entry %+v", e)
			}
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("queue %v, want %v", got, ids)
	}
	// A decision takes the order out of the queue.
	if _, err := s.Update(ctx, ids[0], func(sn *orders.Snapshot) ([]orders.Event, error) {
		sn.Order.State = filing.StateApproved
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	// A crash after the order's transaction but before the removal: the entry stays.
	if _, err := s.Update(ctx, ids[1], func(sn *orders.Snapshot) ([]orders.Event, error) {
		sn.Order.State = filing.StateChangesRequested
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	rdb.ZAdd(ctx, rediskeys.ReviewQueue(scope), redisZ(base, rediskeys.ReviewQueueMember(ids[1], 1)))
	// And an entry whose submission has not committed: kept, not shown.
	rdb.ZAdd(ctx, rediskeys.ReviewQueue(scope), redisZ(base, rediskeys.ReviewQueueMember(ids[2], 2)))
	n, oldest, err := s.QueueStats(ctx)
	if err != nil || n != 5 || !oldest.Equal(base) {
		t.Errorf("stats %d %v %v, want 5 entries, oldest %v", n, oldest, err, base)
	}
	p, err := s.Queue(ctx, "", 50, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Orders) != 3 || p.Orders[0].ID != ids[2] || p.NextCursor != nil {
		t.Errorf("queue %+v, want ids 2..4", p.Orders)
	}
	if ok, _ := rdb.ZScore(ctx, rediskeys.ReviewQueue(scope), rediskeys.ReviewQueueMember(ids[1], 1)).Result(); ok != 0 {
		t.Error("the stale entry is still there")
	}
	if _, err := rdb.ZScore(ctx, rediskeys.ReviewQueue(scope), rediskeys.ReviewQueueMember(ids[2], 2)).Result(); err != nil {
		t.Error("the uncommitted entry was dropped")
	}
	if _, err := s.Queue(ctx, "garbage", 50, base); filing.ErrorCode(err) != filing.CodeInvalidRequest {
		t.Errorf("bad cursor: %v", err)
	}
}

func redisZ(at time.Time, member string) redis.Z {
	return redis.Z{Score: float64(at.UnixMilli()), Member: member}
}
