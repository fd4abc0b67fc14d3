package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// queueView is one order as a queue page shows it: "" when it is not on the page.
func queueView(t *testing.T, s *Store, id string, now time.Time) string {
	t.Helper()
	p, err := s.Queue(context.Background(), "", 50, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Orders {
		if e.ID == id {
			held := "-"
			if e.HeldBy != nil {
				held = *e.HeldBy + "@" + strconv.FormatInt(e.HeldUntil.UnixMilli(), 10)
			}
			return fmt.Sprintf("round %d %s %v held %s", e.Round, e.SubjectName, e.Domains, held)
		}
	}
	return ""
}

// wantCopy checks the queue's copy of id against the order's own summary: the same
// summary and hold when the order waits, none when it does not; and no change in flight.
func wantCopy(t *testing.T, rdb redis.UniversalClient, scope, id string, waiting bool) {
	t.Helper()
	ctx := context.Background()
	own := rdb.HMGet(ctx, rediskeys.Queued(id), queuedField, heldField, seqField).Val()
	cp := rdb.HMGet(ctx, rediskeys.ReviewQueueCopies(scope), "q:"+id, "h:"+id, "s:"+id).Val()
	if n := rdb.HExists(ctx, rediskeys.ReviewQueueWriting(scope), id).Val(); n {
		t.Errorf("%s: a change is still marked as being copied", id)
	}
	if !waiting {
		if cp[0] != nil || cp[1] != nil || cp[2] != nil {
			t.Errorf("%s: the queue keeps a copy %q of an order that does not wait", id, cp)
		}
		return
	}
	str := func(v any) string { s, _ := v.(string); return s }
	if str(cp[0]) != str(own[0]) || str(cp[1]) != str(own[1]) || str(cp[2]) != str(own[2]) {
		t.Errorf("%s: the queue's copy %q, the order's summary %q", id, cp, own)
	}
}

// TestQueueCopyFollows: the queue's copy of an order follows every change of it that a
// page shows (submission, hold taken, renewed, released, a decision with the hold, the
// next round, a withdrawal), and a page answers from the copy alone.
func TestQueueCopyFollows(t *testing.T) {
	rdb := redistest.Shared(t)
	scope := orderID()
	s := New(rdb, 30*time.Minute, WithScope(scope))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond).UTC()
	id := orderID()
	if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateUploaded, Version: 1, SubjectName: "主体",
		Domains: []string{"example.com"}}, orders.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	update := func(f func(*orders.Snapshot)) {
		t.Helper()
		if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) { f(sn); return nil, nil }); err != nil {
			t.Fatal(err)
		}
	}
	hold := func(who string, mode orders.HoldMode, at time.Time) {
		t.Helper()
		if _, err := s.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: who, Mode: mode, Now: at, TTL: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	until := func(at time.Time) string { return strconv.FormatInt(at.Add(time.Minute).UnixMilli(), 10) }
	steps := []struct {
		name    string
		do      func()
		want    string
		waiting bool
	}{
		{"submitted", func() {
			update(func(sn *orders.Snapshot) {
				sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, now
			})
		}, "round 1 主体 [example.com] held -", true},
		{"held", func() { hold("alice", orders.HoldTake, now) }, "round 1 主体 [example.com] held alice@" + until(now), true},
		{"renewed", func() { hold("alice", orders.HoldRenew, now.Add(time.Second)) },
			"round 1 主体 [example.com] held alice@" + until(now.Add(time.Second)), true},
		{"released", func() { hold("alice", orders.HoldRelease, now) }, "round 1 主体 [example.com] held -", true},
		{"held by bob", func() { hold("bob", orders.HoldTake, now) }, "round 1 主体 [example.com] held bob@" + until(now), true},
		{"changes requested", func() {
			update(func(sn *orders.Snapshot) { sn.Order.State, sn.Hold = filing.StateChangesRequested, nil })
		}, "", false},
		{"round 2", func() {
			update(func(sn *orders.Snapshot) {
				sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt, sn.Order.SubjectName = filing.StateSubmitted, 2, now, "新主体"
			})
		}, "round 2 新主体 [example.com] held -", true},
		{"held in round 2", func() { hold("alice", orders.HoldTake, now) }, "round 2 新主体 [example.com] held alice@" + until(now), true},
		{"withdrawn", func() { update(func(sn *orders.Snapshot) { sn.Order.State = filing.StateUploaded }) }, "", false},
	}
	for _, st := range steps {
		st.do()
		if got := queueView(t, s, id, now); got != st.want {
			t.Errorf("%s: the page shows %q, want %q", st.name, got, st.want)
		}
		wantCopy(t, rdb, scope, id, st.waiting)
		if st.waiting {
			// The page answers from the copy alone: the order's own summary is not read.
			own := rdb.HGetAll(ctx, rediskeys.Queued(id)).Val()
			rdb.HSet(ctx, rediskeys.Queued(id), queuedField, "garbage", heldField, "")
			if got := queueView(t, s, id, now); got != st.want {
				t.Errorf("%s: without the order's summary the page shows %q, want %q (from the copy)", st.name, got, st.want)
			}
			rdb.HSet(ctx, rediskeys.Queued(id), own)
		}
	}
	if n := rdb.ZCard(ctx, rediskeys.ReviewQueue(scope)).Val(); n != 0 {
		t.Errorf("%d entries left in the queue", n)
	}
}

// TestQueueCopyCrashes: what a crash or a race can leave beside the copy never shows a
// page something stale: a change committed but not copied (its mark stays) is read from
// the order; copies that arrive out of order keep the newest; a late copy of a round that
// has ended does not revive it; an entry without a copy is read from the order and copied.
func TestQueueCopyCrashes(t *testing.T) {
	rdb := redistest.Shared(t)
	scope := orderID()
	s := New(rdb, 30*time.Minute, WithScope(scope))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond).UTC()
	submit := func() string {
		t.Helper()
		id := orderID()
		if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateUploaded, Version: 1, SubjectName: "n"}, orders.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
			sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, now
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	own := func(id string) []any {
		return rdb.HMGet(ctx, rediskeys.Queued(id), queuedField, heldField, seqField).Val()
	}

	// A decision commits, and the process dies before its copy (on Cluster, or a previous
	// version that marked on a single Redis too): the mark stays, the copy still says
	// submitted, and the page must read the order.
	id := submit()
	if err := s.markQueued(ctx, id, "", 0); err != nil {
		t.Fatal(err)
	}
	rdb.HSet(ctx, rediskeys.Queued(id), queuedField, QueuedSummary(&filing.Order{ID: id, State: filing.StateApproved, Round: 1}))
	rdb.HIncrBy(ctx, rediskeys.Queued(id), seqField, 1)
	if got := queueView(t, s, id, now); got != "" {
		t.Errorf("a decided order whose copy was not written shows as %q", got)
	}
	if rdb.ZScore(ctx, rediskeys.ReviewQueue(scope), rediskeys.ReviewQueueMember(id, 1)).Err() != redis.Nil {
		t.Error("the decided round's entry is still in the queue")
	}

	// Copies out of order: a hold's copy (newer) arrives before the submission's (older).
	id = submit()
	if _, err := s.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: "alice", Mode: orders.HoldTake, Now: now, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	v := own(id)
	q, _ := v[0].(string)
	if err := s.copyQueued(ctx, id, false, "1", q, "", ""); err != nil {
		t.Fatal(err)
	}
	if got := queueView(t, s, id, now); got != fmt.Sprintf("round 1 n [] held alice@%d", now.Add(time.Minute).UnixMilli()) {
		t.Errorf("after an older copy the page shows %q", got)
	}
	wantCopy(t, rdb, scope, id, true)

	// A late copy of a round that has ended: no copy, no entry.
	if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
		sn.Order.State, sn.Hold = filing.StateRejected, nil
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.copyQueued(ctx, id, false, v[2].(string), q, v[1].(string), ""); err != nil {
		t.Fatal(err)
	}
	wantCopy(t, rdb, scope, id, false)
	if got := queueView(t, s, id, now); got != "" {
		t.Errorf("a late copy revived a rejected order: %q", got)
	}

	// An entry without a copy (queued before copies existed): read from the order, and
	// copied for the next page.
	id = submit()
	rdb.HDel(ctx, rediskeys.ReviewQueueCopies(scope), "q:"+id, "h:"+id, "s:"+id)
	if got := queueView(t, s, id, now); got != "round 1 n [] held -" {
		t.Errorf("an entry without a copy shows as %q", got)
	}
	wantCopy(t, rdb, scope, id, true)
}
