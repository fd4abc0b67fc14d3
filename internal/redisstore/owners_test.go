package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// TestOwnerIndexCluster: on a three-master Cluster, an owner's orders spread over every
// master are created, changed (submitted: the index outlives them) and listed, newest first;
// every command touches one slot (a CROSSSLOT would fail the test), and the owner's index
// is on the owner's slot, not an order's.
func TestOwnerIndexCluster(t *testing.T) {
	cc := redistest.StartCluster(t, 3, 0).Client(t)
	ctx := context.Background()
	s := New(cc, 30*time.Minute, WithRetention(time.Hour))
	owner := "owner-" + orderID()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ids []string
	masters := map[string]bool{}
	for i := 0; len(masters) < 3 || i < 6; i++ {
		if i > 60 {
			t.Fatal("orders never reached every master")
		}
		id := orderID()
		at := now.Add(time.Duration(i) * time.Second)
		o := &filing.Order{ID: id, State: filing.StateDraft, Province: "CN-GD", SubjectName: "主体", Version: 1,
			OwnerID: owner, CreatedAt: at, UpdatedAt: at}
		s.now = func() time.Time { return at }
		if err := s.CreateOrder(ctx, o, orders.AuditEntry{At: at, Actor: orders.ActorDesktop, Action: orders.AuditCreate}); err != nil {
			t.Fatal(err)
		}
		c, err := cc.MasterForKey(ctx, rediskeys.Order(id))
		if err != nil {
			t.Fatal(err)
		}
		masters[c.Options().Addr] = true
		ids = append([]string{id}, ids...)
	}
	if _, err := s.Update(ctx, ids[0], func(snap *orders.Snapshot) ([]orders.Event, error) {
		snap.Order.State = filing.StateSubmitted
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	key := s.ownerKey(owner)
	if ttl, err := cc.PTTL(ctx, key).Result(); err != nil || ttl < ownerForever-time.Hour {
		t.Errorf("index TTL %v (%v) while an order is submitted", ttl, err)
	}
	got, err := s.OwnerOrders(ctx, owner, 100)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, o := range got {
		gotIDs = append(gotIDs, o.ID)
		if o.SubjectLeader.IDNumber != "" || o.WebsiteLeader.IDNumber != "" {
			t.Errorf("the list carries the people of %s", o.ID)
		}
	}
	if strings.Join(gotIDs, ",") != strings.Join(ids, ",") {
		t.Errorf("listed %v, want %v (newest first)", gotIDs, ids)
	}
	if slot, err := cc.ClusterKeySlot(ctx, key).Result(); err != nil {
		t.Fatal(err)
	} else if want, _ := cc.ClusterKeySlot(ctx, "{"+strings.Split(strings.Split(key, "{")[1], "}")[0]+"}").Result(); slot != want {
		t.Errorf("index %s in slot %d, not its tag's %d", key, slot, want)
	}
}
