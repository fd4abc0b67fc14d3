package webhook_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/webhook"
)

// TestClusterEveryShard: on a three-master Cluster, orders whose slots are on every master
// have their webhooks delivered: the outbox entries live in each order's slot, the due
// index in its own, and the intent before each MULTI keeps them together.
func TestClusterEveryShard(t *testing.T) {
	cc := redistest.StartCluster(t, 3, 0).Client(t)
	ctx := context.Background()
	r := newRig(t)
	r.rdb = cc
	r.store = r.newStore()
	rec := newReceiver(t, r.secret)
	rec.start()
	r.deliverer(r.store, rec.URL(), nil)
	// Orders until each master holds at least three.
	perMaster := map[string]int{}
	var ids []string
	for len(perMaster) < 3 || minCount(perMaster) < 3 {
		id := r.create(r.store)
		r.setState(r.store, id, filing.StateSubmitted)
		node, err := cc.MasterForKey(ctx, rediskeys.Webhooks(id))
		if err != nil {
			t.Fatal(err)
		}
		perMaster[node.Options().Addr]++
		ids = append(ids, id)
		if len(ids) > 200 {
			t.Fatalf("orders spread %v", perMaster)
		}
	}
	waitFor(t, 10*time.Second, "every webhook", func() bool { return len(rec.delivered()) == 2*len(ids) })
	for _, id := range ids {
		if rec.delivered()["wh_"+id+"_2_submitted"] != 1 {
			t.Errorf("order %s: submitted delivered %d times", id, rec.delivered()["wh_"+id+"_2_submitted"])
		}
	}
	// The operator's listing (its index in another slot than the orders', written beside
	// each order's script): empty once everything is delivered; a failing delivery listed.
	listed := func(status string) []webhook.Delivery {
		ds, err := r.store.Deliveries(ctx, status, 100)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	waitFor(t, 5*time.Second, "an empty listing", func() bool {
		n, err := cc.ZCard(ctx, rediskeys.WebhookListed(r.scope)).Result()
		return err == nil && n == 0 && len(listed(webhook.StatusPending))+len(listed(webhook.StatusFailed)) == 0
	})
	rec.mu.Lock()
	rec.answer = func(int, string) int { return http.StatusInternalServerError }
	rec.mu.Unlock()
	failing := r.create(r.store)
	waitFor(t, 10*time.Second, "the failed delivery listed", func() bool {
		ds := listed(webhook.StatusFailed)
		return len(ds) == 1 && ds[0].OrderID == failing && ds[0].Type == webhook.OrderCreated
	})
	t.Logf("%d orders on the masters %v", len(ids), perMaster)
}

func minCount(m map[string]int) int {
	n := -1
	for _, v := range m {
		if n < 0 || v < n {
			n = v
		}
	}
	return n
}
