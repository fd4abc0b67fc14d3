package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// TestReviewRoundTrips: on a single Redis the queue's side of a change is in the change's
// own transaction, so a reviewer's decision (which takes the order out of the queue, drops
// its hold and its copy) costs exactly the round trips of an upload's metadata write, and
// a hold taken or released is one round trip: its script and the queue's copy in one
// MULTI. (Beside the transaction, as on Cluster, a decision took two more, the mark and
// the copy, and a hold three: mark, script, copy.)
func TestReviewRoundTrips(t *testing.T) {
	rdb := redistest.Shared(t)
	s := New(rdb, 30*time.Minute, WithScope(orderID()))
	ctx := context.Background()
	signer, err := auth.NewSigner([]byte("0123456789abcdef0123456789abcdef"), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := orders.New(orders.Config{}, s, nil, signer, []byte("secret"))
	create := func(state filing.State) string {
		t.Helper()
		id := orderID()
		if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateUploaded, Version: 1, SubjectName: "n", UploadMethod: filing.MethodPC},
			orders.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if state == filing.StateSubmitted {
			if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
				sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, time.Now()
				return nil, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	upload := func(id string) error {
		m := filing.Material{Slot: filing.SlotVerificationForm, Format: "jpeg", Size: 1 << 20, SHA256: strings.Repeat("a", 64),
			Via: filing.ViaPC, UploadedAt: time.Now(), Warnings: []string{}}
		_, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
			sn.Materials[m.Slot] = m
			sn.Audit = append(sn.Audit, orders.AuditEntry{At: m.UploadedAt, Actor: orders.ActorDesktop, Action: orders.AuditUpload, Slot: m.Slot})
			return []orders.Event{{Type: events.MaterialUploaded, OrderID: id, At: m.UploadedAt, Data: m}}, nil
		})
		return err
	}
	hold := func(id string, mode orders.HoldMode) error {
		r, err := s.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: "alice", Mode: mode, Now: time.Now(), TTL: time.Hour})
		if err == nil && r.Outcome != orders.HoldTaken && r.Outcome != orders.HoldReleased {
			err = fmt.Errorf("hold %s: %s", mode, r.Outcome)
		}
		return err
	}
	decide := func(id string) error {
		_, err := svc.Decide(ctx, id, "alice", filing.Decision{Outcome: filing.OutcomeChanges, Issues: []filing.Issue{
			{Target: filing.IssueMaterial, Slot: filing.SlotVerificationForm, Code: filing.ReasonFormUnsigned}}})
		return err
	}
	counter := &trips{}
	rdb.AddHook(counter)
	count := func(do func() error) int64 {
		t.Helper()
		counter.n.Store(0)
		if err := do(); err != nil {
			t.Fatal(err)
		}
		return counter.n.Load()
	}
	// Each kind once first, so that every script is loaded.
	warm, draft := create(filing.StateSubmitted), create(filing.StateUploaded)
	for _, do := range []func() error{func() error { return upload(draft) }, func() error { return hold(warm, orders.HoldTake) },
		func() error { return hold(warm, orders.HoldRelease) }, func() error { return hold(warm, orders.HoldTake) },
		func() error { return decide(warm) }} {
		count(do)
	}

	id := create(filing.StateSubmitted)
	metadata := count(func() error { return upload(draft) })
	tests := []struct {
		name string
		do   func() error
		want int64
	}{
		{"hold taken", func() error { return hold(id, orders.HoldTake) }, 1},
		{"hold released", func() error { return hold(id, orders.HoldRelease) }, 1},
		{"hold taken again", func() error { return hold(id, orders.HoldTake) }, 1},
		{"decision", func() error { return decide(id) }, metadata},
	}
	for _, tt := range tests {
		if got := count(tt.do); got != tt.want {
			t.Errorf("%s took %d round trips to Redis, want %d (an upload's metadata write takes %d)", tt.name, got, tt.want, metadata)
		}
	}
	// And the queue followed: the decided order is gone from it, with its copy.
	wantCopy(t, rdb, s.scope, id, false)
	if rdb.ZScore(ctx, rediskeys.ReviewQueue(s.scope), rediskeys.ReviewQueueMember(id, 1)).Err() != redis.Nil {
		t.Error("the decided round's entry is still in the queue")
	}
}

// stepHook runs after every round trip of the client it is added to.
type stepHook struct{ after func() }

func (h *stepHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *stepHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { err := next(ctx, cmd); h.after(); return err }
}
func (h *stepHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { err := next(ctx, cmds); h.after(); return err }
}

// TestQueueInlinePages: a hold and a decision through one instance, with the other
// instance reading its first page (cached or afresh) after every single round trip of
// them: each page shows the order exactly as Redis holds it at that moment (never the
// state from before a step that has committed), no step leaves a mark for pages to read
// the order by, and the page after each change is cached again at the new stamp.
func TestQueueInlinePages(t *testing.T) {
	rdb := redistest.Shared(t)
	scope := orderID()
	a := New(rdb, 30*time.Minute, WithScope(scope))
	// b has a client of its own, whose every round trip the hook follows.
	o := rdb.Options()
	brdb := redis.NewClient(&redis.Options{Addr: o.Addr, DB: o.DB, Username: o.Username, Password: o.Password})
	t.Cleanup(func() { _ = brdb.Close() })
	b := New(brdb, 30*time.Minute, WithScope(scope), WithKeyring(a.ring))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond).UTC()
	id := orderID()
	if err := a.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateUploaded, Version: 1, SubjectName: "n"}, orders.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
		sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, now
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	// truth is the order as Redis holds it now, as a page would show it.
	truth := func() string {
		raw, err := rdb.Get(ctx, rediskeys.Order(id)).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		var q queued
		if err := json.Unmarshal(raw, &q); err != nil {
			t.Fatal(err)
		}
		if q.State != filing.StateSubmitted {
			return ""
		}
		held := "-"
		if h := decodeHold(rdb.HGetAll(ctx, rediskeys.Hold(id)).Val()); h != nil {
			held = h.Reviewer + "@" + strconv.FormatInt(h.Until.UnixMilli(), 10)
		}
		return fmt.Sprintf("round %d n [] held %s", q.Round, held)
	}
	steps := 0
	check := func(when string) {
		t.Helper()
		steps++
		if got, want := queueView(t, a, id, now), truth(); got != want {
			t.Errorf("%s: the other instance's page shows %q, Redis holds %q", when, got, want)
		}
		if n := rdb.HLen(ctx, rediskeys.ReviewQueueWriting(scope)).Val(); n != 0 {
			t.Errorf("%s: %d changes marked for pages to read from their orders", when, n)
		}
	}
	check("before")
	wantCached(t, a)
	brdb.AddHook(&stepHook{after: func() { check("within a step") }})
	for _, st := range []struct {
		name string
		do   func() error
	}{
		{"hold", func() error {
			_, err := b.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: "alice", Mode: orders.HoldTake, Now: now, TTL: time.Minute})
			return err
		}},
		{"decision", func() error {
			_, err := b.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
				sn.Order.State, sn.Hold = filing.StateChangesRequested, nil
				return nil, nil
			})
			return err
		}},
	} {
		if err := st.do(); err != nil {
			t.Fatal(err)
		}
		check("after the " + st.name)
		wantCached(t, a)
	}
	if got := queueView(t, a, id, now); got != "" {
		t.Errorf("after the decision the page shows %q", got)
	}
	if steps < 6 {
		t.Errorf("only %d pages read", steps)
	}
}

// TestQueueLegacyHold: an order last written before summaries existed (its entry in the
// queue, no summary, no copy) is read from its JSON and hold, and such a page is cached;
// a hold taken on it through another instance, which has no summary to copy, still sets
// the stamp, so the next page shows the hold.
func TestQueueLegacyHold(t *testing.T) {
	rdb := redistest.Shared(t)
	scope := orderID()
	a := New(rdb, 30*time.Minute, WithScope(scope))
	b := New(rdb, 30*time.Minute, WithScope(scope), WithKeyring(a.ring))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond).UTC()
	id := orderID()
	if err := a.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateSubmitted, Round: 1, SubmittedAt: now, Version: 1, SubjectName: "n"},
		orders.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, rediskeys.Queued(id))
	rdb.ZAdd(ctx, rediskeys.ReviewQueue(scope), redisZ(now, rediskeys.ReviewQueueMember(id, 1)))
	rdb.Set(ctx, rediskeys.ReviewQueueStamp(scope), newStamp(), 0)
	if got := queueView(t, a, id, now); got != "round 1 n [] held -" {
		t.Fatalf("the legacy order shows as %q", got)
	}
	wantCached(t, a)
	if _, err := b.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: "alice", Mode: orders.HoldTake, Now: now, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got, want := queueView(t, a, id, now), fmt.Sprintf("round 1 n [] held alice@%d", now.Add(time.Minute).UnixMilli()); got != want {
		t.Errorf("after a hold through another instance the legacy order shows as %q, want %q", got, want)
	}
}
