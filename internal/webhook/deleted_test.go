package webhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/webhook"
)

// TestDeletedByRetention: retention removes an order by Redis expiry, silently; its
// deletion watch in the outbox, which outlives the order, turns into order.deleted, with
// the order's last state and version. A change before the expiry pushes the watch back
// with the order's life.
func TestDeletedByRetention(t *testing.T) {
	r := newRig(t)
	r.retention = 300 * time.Millisecond
	r.store = r.newStore()
	rec := newReceiver(t, r.secret)
	rec.strict = false // the test clock runs ahead
	rec.start()
	r.deliverer(r.store, rec.URL(), nil)
	id := r.create(r.store)
	r.setState(r.store, id, filing.StateUploaded)
	waitFor(t, 5*time.Second, "order.created", func() bool { return rec.delivered()["wh_"+id+"_1_created"] == 1 })
	deleted := "wh_" + id + "_deleted"
	if rec.delivered()[deleted] != 0 {
		t.Fatal("order.deleted before the order expired")
	}
	waitFor(t, 10*time.Second, "order.deleted", func() bool {
		r.keepPace(50 * time.Millisecond)
		return rec.delivered()[deleted] == 1
	})
	if n, err := r.rdb.Exists(context.Background(), rediskeys.Order(id)).Result(); err != nil || n != 0 {
		t.Fatalf("order.deleted sent while the order exists (%d, %v)", n, err)
	}
	for _, g := range rec.requests() {
		if g.ID != deleted {
			continue
		}
		if g.Body.Type != webhook.OrderDeleted || g.Body.Data.State != "uploaded" || g.Body.Data.Version != 2 || g.Body.Data.OrderID != id {
			t.Fatalf("order.deleted body %+v", g.Body)
		}
	}
}
