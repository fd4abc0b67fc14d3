package redisstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/sealbox"
)

// wantCached checks that s holds its first page cached at the queue's stamp as it is now:
// its next page is answered from the cache, so what a test sees next is the cache's.
func wantCached(t *testing.T, s *Store) {
	t.Helper()
	stamp := s.rdb.Get(context.Background(), rediskeys.ReviewQueueStamp(s.scope)).Val()
	if c := s.queuePages.get("", 50); c == nil || stamp == "" || c.stamp != stamp {
		t.Fatalf("the first page is not cached at the queue's stamp %q", stamp)
	}
}

// TestQueueCacheInstances: two instances on one Redis, each with its cache of the first
// page: a hold taken, a hold released, a new submission, a decision, an order withdrawn
// and a change committed whose copy never came (its process died), each through one
// instance, are all on the other's very next page.
func TestQueueCacheInstances(t *testing.T) {
	rdb := redistest.Shared(t)
	scope := orderID()
	ring := sealbox.Random()
	a, b := New(rdb, 30*time.Minute, WithScope(scope), WithKeyring(ring)), New(rdb, 30*time.Minute, WithScope(scope), WithKeyring(ring))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond).UTC()
	submit := func(s *Store, id string, at time.Time) {
		t.Helper()
		if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateUploaded, Version: 1, SubjectName: id[len(id)-3:]}, orders.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
			sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, at
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set := func(s *Store, id string, state filing.State) func() {
		return func() {
			if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
				sn.Order.State, sn.Hold = state, nil
				return nil, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	hold := func(s *Store, id string, mode orders.HoldMode) func() {
		return func() {
			if _, err := s.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: "alice", Mode: mode, Now: now, TTL: time.Minute}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// page is what s's first page shows: each entry's name, and its holder.
	page := func(s *Store) string {
		t.Helper()
		p, err := s.Queue(ctx, "", 50, now)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, e := range p.Orders {
			out += " " + e.SubjectName
			if e.HeldBy != nil {
				out += "@" + *e.HeldBy
			}
		}
		return out
	}
	x, y, z := orderID(), orderID(), orderID()
	submit(a, x, now.Add(-3*time.Second))
	submit(a, y, now.Add(-2*time.Second))
	name := func(id string) string { return id[len(id)-3:] }
	// crash commits a decision of y through b and dies before its copy, as on Cluster or
	// in a previous version that marked on a single Redis too: the mark stays.
	crash := func() {
		if err := b.markQueued(ctx, y, "", 0); err != nil {
			t.Fatal(err)
		}
		rdb.HSet(ctx, rediskeys.Queued(y), queuedField, QueuedSummary(&filing.Order{ID: y, State: filing.StateRejected, Round: 1}))
		rdb.HIncrBy(ctx, rediskeys.Queued(y), seqField, 1)
	}
	steps := []struct {
		name       string
		via, other *Store
		do         func()
		want       string
	}{
		{"hold taken", a, b, hold(a, x, orders.HoldTake), fmt.Sprintf(" %s@alice %s", name(x), name(y))},
		{"hold released", b, a, hold(b, x, orders.HoldRelease), fmt.Sprintf(" %s %s", name(x), name(y))},
		{"new submission", a, b, func() { submit(a, z, now.Add(-time.Second)) }, fmt.Sprintf(" %s %s %s", name(x), name(y), name(z))},
		{"decision", b, a, set(b, x, filing.StateApproved), fmt.Sprintf(" %s %s", name(y), name(z))},
		{"withdrawn", a, b, set(a, z, filing.StateUploaded), " " + name(y)},
		{"committed, not copied", b, a, crash, ""},
	}
	for _, st := range steps {
		// Both instances have the page as it stands cached.
		before := page(st.via)
		if got := page(st.other); got != before {
			t.Fatalf("%s: before it the instances disagree: %q and %q", st.name, before, got)
		}
		wantCached(t, st.via)
		wantCached(t, st.other)
		st.do()
		if got := page(st.other); got != st.want {
			t.Errorf("%s: the other instance's next page shows %q, want %q (before: %q)", st.name, got, st.want, before)
		}
		if got := page(st.via); got != st.want {
			t.Errorf("%s: its own instance's next page shows %q, want %q", st.name, got, st.want)
		}
	}
}

// TestQueueCacheClock: a page answered from the cache is answered for the time of the
// request: the wait grows, and a hold whose time has passed shows as none, as a page read
// afresh would show them.
func TestQueueCacheClock(t *testing.T) {
	rdb := redistest.Shared(t)
	scope := orderID()
	s := New(rdb, 30*time.Minute, WithScope(scope))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond).UTC()
	id := orderID()
	if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateUploaded, Version: 1, SubjectName: "主体"}, orders.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
		sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, now
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: "alice", Mode: orders.HoldTake, Now: now, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	view := func(at time.Time) string {
		t.Helper()
		p, err := s.Queue(ctx, "", 50, at)
		if err != nil || len(p.Orders) != 1 {
			t.Fatalf("page %+v, %v", p, err)
		}
		e := p.Orders[0]
		held := "-"
		if e.HeldBy != nil {
			held = *e.HeldBy + "@" + e.HeldUntil.Sub(now).String()
		}
		return fmt.Sprintf("%s waiting %d held %s", e.SubjectName, e.WaitingS, held)
	}
	if got, want := view(now), "主体 waiting 0 held alice@1m0s"; got != want {
		t.Fatalf("the page shows %q, want %q", got, want)
	}
	wantCached(t, s)
	// The copy changed behind the stamp's back: pages that still show 主体 are the cache's.
	rdb.HSet(ctx, rediskeys.ReviewQueueCopies(scope), "q:"+id, "garbage")
	for _, tt := range []struct {
		at   time.Duration
		want string
	}{
		{30 * time.Second, "主体 waiting 30 held alice@1m0s"},
		{59*time.Second + 999*time.Millisecond, "主体 waiting 59 held alice@1m0s"},
		{time.Minute, "主体 waiting 60 held -"},
		{2 * time.Hour, "主体 waiting 7200 held -"},
	} {
		if got := view(now.Add(tt.at)); got != tt.want {
			t.Errorf("at +%v the page shows %q, want %q", tt.at, got, tt.want)
		}
	}
}

// TestQueueCacheConcurrent: pages answered at once from one instance's cache, while
// another instance takes and releases a hold, share the cached entries safely (run with
// -race), and the page after the last change shows it.
func TestQueueCacheConcurrent(t *testing.T) {
	rdb := redistest.Shared(t)
	scope := orderID()
	ring := sealbox.Random()
	a, b := New(rdb, 30*time.Minute, WithScope(scope), WithKeyring(ring)), New(rdb, 30*time.Minute, WithScope(scope), WithKeyring(ring))
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
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 25 {
				p, err := b.Queue(ctx, "", 50, now.Add(time.Duration(i*j)*time.Second))
				if err != nil || len(p.Orders) != 1 {
					errs <- fmt.Errorf("page %+v: %v", p, err)
					return
				}
				if e := p.Orders[0]; e.WaitingS != int64(i*j) {
					errs <- fmt.Errorf("waiting %d, want %d", e.WaitingS, i*j)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for j := range 10 {
			mode := orders.HoldTake
			if j%2 == 1 {
				mode = orders.HoldRelease
			}
			if _, err := a.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: "alice", Mode: mode, Now: now, TTL: time.Hour}); err != nil {
				errs <- err
				return
			}
		}
		if _, err := a.Hold(ctx, orders.HoldRequest{OrderID: id, Reviewer: "alice", Mode: orders.HoldTake, Now: now, TTL: time.Hour}); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := queueView(t, b, id, now); got != fmt.Sprintf("round 1 n [] held alice@%d", now.Add(time.Hour).UnixMilli()) {
		t.Errorf("after the last hold the page shows %q", got)
	}
}
