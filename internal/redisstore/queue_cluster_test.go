package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// TestQueueCluster: on a three-master Cluster with a replica each, every write confirmed
// on it, orders on every master are submitted, held and decided; the queue, its copies and
// the marks stay in the queue's slot (a CROSSSLOT would fail the test), each mark is
// confirmed on the queue's own master, pages answer from the copies, and a decided order
// leaves them; the page cache's stamp is in the queue's slot too.
func TestQueueCluster(t *testing.T) {
	cc := redistest.StartCluster(t, 3, 1).Client(t)
	ctx := context.Background()
	scope := orderID()
	s := New(cc, 30*time.Minute, WithScope(scope))
	s.SetReplication(Replication{MinReplicas: 1, Timeout: 2 * time.Second})
	now := time.Now().Truncate(time.Millisecond).UTC()
	var ids []string
	masters := map[string]bool{}
	for i := 0; len(masters) < 3 || i < 6; i++ {
		if i > 60 {
			t.Fatal("orders never reached every master")
		}
		id := orderID()
		if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateUploaded, Version: 1, SubjectName: "n"}, orders.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
			sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, now.Add(time.Duration(i)*time.Second)
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		c, err := cc.MasterForKey(ctx, rediskeys.Order(id))
		if err != nil {
			t.Fatal(err)
		}
		masters[c.Options().Addr] = true
		ids = append(ids, id)
	}
	if _, err := s.Hold(ctx, orders.HoldRequest{OrderID: ids[1], Reviewer: "alice", Mode: orders.HoldTake, Now: now, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, ids[0], func(sn *orders.Snapshot) ([]orders.Event, error) {
		sn.Order.State = filing.StateApproved
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := queueView(t, s, ids[0], now); got != "" {
		t.Errorf("the approved order shows as %q", got)
	}
	if got, want := queueView(t, s, ids[1], now), fmt.Sprintf("round 1 n [] held alice@%d", now.Add(time.Minute).UnixMilli()); got != want {
		t.Errorf("the held order shows as %q, want %q", got, want)
	}
	p, err := s.Queue(ctx, "", 50, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Orders) != len(ids)-1 || p.Orders[0].ID != ids[1] {
		t.Errorf("page %+v, want ids 1..%d", p.Orders, len(ids)-1)
	}
	for i, id := range ids {
		wantCopy(t, cc, scope, id, i > 0)
	}
	slot := func(k string) int64 { return cc.ClusterKeySlot(ctx, k).Val() }
	if q := slot(rediskeys.ReviewQueue(scope)); slot(rediskeys.ReviewQueueCopies(scope)) != q || slot(rediskeys.ReviewQueueWriting(scope)) != q ||
		slot(rediskeys.ReviewQueueStamp(scope)) != q {
		t.Error("the queue, its copies, its marks and its stamp are not in one slot")
	}
	// The page is cached at the stamp, and a change through another instance is on its
	// next page.
	wantCached(t, s)
	other := New(cc, 30*time.Minute, WithScope(scope), WithKeyring(s.ring))
	other.SetReplication(Replication{MinReplicas: 1, Timeout: 2 * time.Second})
	if _, err := other.Hold(ctx, orders.HoldRequest{OrderID: ids[2], Reviewer: "bob", Mode: orders.HoldTake, Now: now, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got, want := queueView(t, s, ids[2], now), fmt.Sprintf("round 1 n [] held bob@%d", now.Add(time.Minute).UnixMilli()); got != want {
		t.Errorf("after a hold through another instance the order shows as %q, want %q", got, want)
	}
}
